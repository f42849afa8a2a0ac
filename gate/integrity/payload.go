package integrity

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Parse decodes a payload of the given content type (text 0.0.4 or
// OpenMetrics 1.0; empty means text) into metric families.
func Parse(body []byte, contentType string) ([]*dto.MetricFamily, error) {
	if contentType == "" {
		contentType = string(expfmt.FmtText)
	}
	dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.Format(contentType))
	var out []*dto.MetricFamily
	for {
		mf := &dto.MetricFamily{}
		err := dec.Decode(mf)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("parse payload: %w", err)
		}
		out = append(out, mf)
	}
}

// Check is the outcome of CheckPayload. Each field is "ok", "absent" or a
// failure description.
type Check struct {
	LiveSHA    string `json:"livesha"`
	ReprDigest string `json:"repr_digest"`
	Parse      string `json:"parse"`
	Families   int    `json:"families"`
}

// OK reports whether nothing failed (absent values are not failures).
func (c Check) OK() bool {
	good := func(s string) bool { return s == "ok" || s == "absent" }
	return good(c.LiveSHA) && good(c.ReprDigest) && c.Parse == "ok"
}

// CheckPayload verifies a payload: its LIVESHA line when it has one, the
// Repr-Digest header value when given, and that it parses as its content
// type.
func CheckPayload(body []byte, contentType, reprDigest string) Check {
	var c Check
	switch err := VerifyLiveSHA(body); {
	case err == nil:
		c.LiveSHA = "ok"
	case errors.Is(err, ErrNoLiveSHA):
		c.LiveSHA = "absent"
	default:
		c.LiveSHA = err.Error()
	}
	c.ReprDigest = "absent"
	if reprDigest != "" {
		c.ReprDigest = "ok"
		if err := VerifyReprDigest(reprDigest, body); err != nil {
			c.ReprDigest = err.Error()
		}
	}
	mfs, err := Parse(body, contentType)
	c.Families = len(mfs)
	c.Parse = "ok"
	if err != nil {
		c.Parse = err.Error()
	}
	return c
}

// Samples parses a payload into flat samples: histograms and summaries
// become their _bucket, _sum and _count (or quantile) series, each with its
// __name__ label.
func Samples(body []byte, contentType string) (model.Vector, error) {
	mfs, err := Parse(body, contentType)
	if err != nil {
		return nil, err
	}
	return expfmt.ExtractSamples(&expfmt.DecodeOptions{Timestamp: model.Now()}, mfs...)
}

// Sum adds the values of every sample named name.
func Sum(vec model.Vector, name string) float64 {
	total := 0.0
	for _, s := range vec {
		if string(s.Metric[model.MetricNameLabel]) == name {
			total += float64(s.Value)
		}
	}
	return total
}
