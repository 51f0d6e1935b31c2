// Struct PIM in `changefeed demo`: an hour of committed transactions, one long transaction
// that commits late, and a trickle.
#pragma once

#include "sim/common/demo_source.hpp"

namespace changefeed::sim {

demo_source struct_demo();

}  // namespace changefeed::sim
