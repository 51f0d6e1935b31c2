// The configuration a pennylane source accepts: knobs, resources and defaults (SPEC section 3).
#pragma once

#include "sources/kind_spec.hpp"

namespace changefeed::sources::pennylane {

kind_spec pennylane_spec();

}  // namespace changefeed::sources::pennylane
