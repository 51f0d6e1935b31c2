// The configuration a struct source accepts: knobs, resources and defaults (SPEC section 3).
#pragma once

#include "sources/kind_spec.hpp"

// `struct` is a keyword, so this folder's namespace is struct_pim.
namespace changefeed::sources::struct_pim {

kind_spec struct_spec();

}  // namespace changefeed::sources::struct_pim
