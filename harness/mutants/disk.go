package mutants

// Check names of the disk-full and memory rows (package harness defines
// them).
const (
	checkDiskAchieved   = "fault_achieved:disk-full"
	checkAuditResumed   = "audit_resumed"
	checkMemoryAchieved = "fault_achieved:memory-pressure"
)

// diskRows are the disk-full rows: a full audit disk the shipped gate
// rides out and records; a stressor that fills nothing; a gate that makes
// room on a full disk by deleting its audit log.
func diskRows() []Mutant {
	return []Mutant{
		{Name: "disk-full-control", Breaks: "nothing: the disk under the audit log filled, the gate as shipped",
			Scenario: diskFull("mutant-disk-full-control", "audit")},
		{Name: "disk-full-noop", Breaks: "the stressor fills nothing: the disk under the cache keeps its space",
			Scenario: diskFull("mutant-disk-full-noop", "cache"), StressorTag: "gameday_broken_stressor",
			Expect: []string{checkDiskAchieved}},
		{Name: "audit-trim", Breaks: "the gate makes room on a full audit disk by deleting its audit log",
			Scenario: diskFull("mutant-audit-trim", "audit"), GateTag: "gameday_broken_audit_trim",
			Expect: []string{checkAuditResumed}},
	}
}

// diskFull fills the disk under the gate's cache or audit log (an 8 MiB
// filesystem) for 30 s: the gate keeps serving its load live. On the
// audit log the harness calls the admin API meanwhile, and the log must
// resume after (GateAuditWriteFailing, 3 m `for`, stays pending; the
// built-in disk-full-audit GameDay waits for it to fire).
func diskFull(name, path string) string {
	s := `name: ` + name + `
labels: [disk-full, mutant]
seed: 6
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: disk-full, duration: 30s, params: {path: ` + path + `, size: 8MiB}}
expect:
  no_5xx: true
  all_200: true
  min_live_ratio_during: 0.95
  no_unexpected_alerts: true
  recovery: {min_live_ratio: 0.95, within: 30s}
  livesha_valid: true
`
	if path == "audit" {
		s += "  audit_resumed: true\n"
	}
	return s + "after: {duration: 6s, min_live_ratio: 0.95}\n"
}

// memoryRows are the memory-pressure rows, on the container target (the
// process target has no memory limit): a stressor that allocates nothing
// proves neither the pressure nor, with oom, the kill.
func memoryRows() []Mutant {
	return []Mutant{
		{Name: "memory-noop", Breaks: "the stressor allocates nothing: the cgroup never fills",
			Scenario: memory("mutant-memory-noop", false), StressorTag: "gameday_broken_stressor", Container: true,
			Expect: []string{checkMemoryAchieved}},
		{Name: "oom-noop", Breaks: "the stressor allocates nothing: the gate is never OOM-killed",
			Scenario: memory("mutant-oom-noop", true), StressorTag: "gameday_broken_stressor", Container: true,
			Expect: []string{checkMemoryAchieved}, Collateral: []string{checkCrashRecovery, checkCacheRestart, checkAuditIntact}},
	}
}

// memory is memory-pressure cut short in a 128 MiB container: 20 s at
// 80 % of the limit, or, with oom, past it.
func memory(name string, oom bool) string {
	fault, expect := `{name: memory-pressure, duration: 20s, params: {fraction: "0.8"}}`, ""
	if oom {
		fault, expect = `{name: memory-pressure, duration: 20s, params: {oom: "true"}}`, "  crash: {back_within: 10s}\n"
	}
	return `name: ` + name + `
labels: [memory-pressure, mutant]
seed: 5
target: {memory: 128MiB}
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - ` + fault + `
expect:
  no_5xx: true
  recovery: {min_live_ratio: 0.95, within: 30s}
  livesha_valid: true
` + expect + `after: {duration: 6s, min_live_ratio: 0.95}
`
}
