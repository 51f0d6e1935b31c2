// The configuration a saleschannel source accepts: knobs, resources and defaults (SPEC section 3).
#pragma once

#include "sources/kind_spec.hpp"

namespace changefeed::sources::saleschannel {

kind_spec saleschannel_spec();

}  // namespace changefeed::sources::saleschannel
