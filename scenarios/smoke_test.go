package scenarios

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/quannex/gameday/harness/smoke"
	"github.com/quannex/gameday/harness/target"
)

var _ = Describe("The smoke pack", Label("smoke"), func() {
	const (
		metricsToken = "smoke-suite-token-000001"
		slowToken    = "smoke-suite-slow-token-02"
		adminToken   = "smoke-suite-admin-token-3"
	)
	var gate *target.Process

	BeforeEach(func(ctx context.Context) {
		var err error
		gate, err = target.StartProcess(ctx, target.Options{GateBin: artifacts.GateBin, StressorBin: artifacts.StressorBin, Env: map[string]string{
			"METRICS_TOKENS":      "smoke:" + metricsToken + ",slow:" + slowToken,
			"METRICS_RATE_LIMITS": "smoke=600/min,admin=600/min",
			"GATE_ADMIN_TOKEN":    adminToken,
		}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx context.Context) { gate.Stop(ctx) })
	})

	It("passes all five checks against a healthy gate, fast, and records an e2e pass", func(ctx SpecContext) {
		res, err := smoke.Run(ctx, smoke.Options{URL: gate.BaseURL(), Token: metricsToken, AdminToken: adminToken})
		Expect(err).NotTo(HaveOccurred())
		for _, c := range res.Checks {
			Expect(c.Result).To(Equal(smoke.Pass), "check %d %s: %s", c.N, c.Name, c.Detail)
		}
		Expect(res.Checks).To(HaveLen(5))
		Expect(res.Pass).To(BeTrue())
		Expect(res.E2ERecorded).To(BeTrue())
		Expect(res.Seconds).To(BeNumerically("<", 60), "the smoke pack must stay well under the original 60 s")
		AddReportEntry("smoke seconds", res.Seconds)
	}, SpecTimeout(2*time.Minute))

	It("skips the forced snapshot, says so, and does not call that a pass, without an admin token", func(ctx SpecContext) {
		res, err := smoke.Run(ctx, smoke.Options{URL: gate.BaseURL(), Token: metricsToken})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Checks[3].Result).To(Equal(smoke.Skip))
		Expect(res.Checks[3].Detail).To(ContainSubstring("no admin token"))
		Expect(res.Verdict).To(Equal(smoke.Incomplete))
		Expect(res.Pass).To(BeFalse())
		Expect(res.E2ERecorded).To(BeFalse())
	}, SpecTimeout(2*time.Minute))

	It("fails, never passes by default, with a token whose rate limit is too low", func(ctx SpecContext) {
		res, err := smoke.Run(ctx, smoke.Options{URL: gate.BaseURL(), Token: slowToken, AdminToken: adminToken})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Pass).To(BeFalse())
		Expect(res.E2ERecorded).To(BeFalse())
		Expect(res.Checks[1].Result).To(Equal(smoke.Fail))
		Expect(res.Checks[1].Detail).To(ContainSubstring("429"))
	}, SpecTimeout(2*time.Minute))

	It("reports an unreachable gate as such", func(ctx SpecContext) {
		_, err := smoke.Run(ctx, smoke.Options{URL: "http://127.0.0.1:1", Token: metricsToken})
		Expect(err).To(MatchError(smoke.ErrUnreachable))
	})
})
