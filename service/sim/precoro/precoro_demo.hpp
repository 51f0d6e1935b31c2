// Precoro in `changefeed demo`: the simulator with some history, webhooks pointed at the service,
// and a source that sweeps it behind them.
#pragma once

#include "sim/common/demo_source.hpp"

namespace changefeed::sim {

demo_source precoro_demo();

}  // namespace changefeed::sim
