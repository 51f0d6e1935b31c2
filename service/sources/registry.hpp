// Every source kind the service knows. A new vendor adds one line to registry.cpp.
#pragma once

#include "sources/kind_spec.hpp"

#include <string_view>
#include <vector>

namespace changefeed::sources {

const std::vector<kind_spec>& known_kinds();

/// The spec of `kind`, or nullptr when no such kind is registered.
const kind_spec* find_kind(std::string_view kind);

}  // namespace changefeed::sources
