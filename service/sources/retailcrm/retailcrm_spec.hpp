// The configuration a retailcrm source accepts: knobs, resources and defaults (SPEC section 3).
#pragma once

#include "sources/kind_spec.hpp"

namespace changefeed::sources::retailcrm {

kind_spec retailcrm_spec();

}  // namespace changefeed::sources::retailcrm
