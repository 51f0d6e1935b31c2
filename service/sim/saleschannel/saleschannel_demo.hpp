// The sales-channel event log in `changefeed demo`: an hour of history (with a run of equal
// createdAt longer than a page, rows without createdAt and unknown event types) and a trickle.
#pragma once

#include "sim/common/demo_source.hpp"

namespace changefeed::sim {

demo_source saleschannel_demo();

}  // namespace changefeed::sim
