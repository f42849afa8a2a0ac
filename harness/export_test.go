package harness

// Names the external tests (package harness_test) read, kept out of the
// package's API.
var (
	DefaultScrapeJobs = defaultScrapeJobs
	CPUAchievedFloor  = cpuAchievedFloor
)
