// The configuration a precoro source accepts: knobs, resources and defaults (SPEC section 3).
#pragma once

#include "sources/kind_spec.hpp"

namespace changefeed::sources::precoro {

kind_spec precoro_spec();

}  // namespace changefeed::sources::precoro
