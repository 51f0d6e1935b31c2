// Pennylane in `changefeed demo`: a simulator with an hour of history and a hydrating source.
#pragma once

#include "sim/common/demo_source.hpp"

namespace changefeed::sim {

demo_source pennylane_demo();

}  // namespace changefeed::sim
