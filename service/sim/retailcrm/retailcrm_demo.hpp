// retailCRM in `changefeed demo`: a simulator with an hour of history in every method, ids that
// keep growing across demo runs, and a source polling all five methods.
#pragma once

#include "sim/common/demo_source.hpp"

namespace changefeed::sim {

demo_source retailcrm_demo();

}  // namespace changefeed::sim
