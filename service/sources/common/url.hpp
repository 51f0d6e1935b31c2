// Building vendor URLs: strict percent-encoding of query keys and values (everything but
// RFC 3986 unreserved characters, so `$`, `[`, `]`, `+` and `:` travel encoded).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace changefeed::sources {

using query_params = std::vector<std::pair<std::string, std::string>>;

std::string percent_encode(std::string_view text);

/// `base` + `path` + "?" + the encoded params in order ("" params: no "?").
std::string make_url(std::string_view base, std::string_view path, const query_params& params = {});

}  // namespace changefeed::sources
