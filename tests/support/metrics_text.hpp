// Reading one series out of a /metrics (Prometheus text) body.
#pragma once

#include <string>

namespace changefeed::test {

/// The value of `series` (name and labels exactly as rendered, e.g. `x_total{source="a"}`) in
/// `metrics`; 0 while the series is absent (a counter not yet incremented).
inline double metric_value(const std::string& metrics, const std::string& series) {
    auto key = series + " ";
    auto at = metrics.find(key);
    return at == std::string::npos ? 0 : std::stod(metrics.substr(at + key.size()));
}

}  // namespace changefeed::test
