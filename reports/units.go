package reports

import "time"

// BucketWidth is the width of a live-ratio bucket (RatioPoint).
const BucketWidth = 5 * time.Second

// LatencySLO is the latency threshold the report counts responses above
// (Load.Over200ms).
const LatencySLO = 200 * time.Millisecond
