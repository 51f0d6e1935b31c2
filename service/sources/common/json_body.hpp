// A vendor's response body read as one JSON object, for the sources' pure mappings.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace changefeed::sources {

/// The body as a JSON object, or nullopt with `error` saying why it is not one.
inline std::optional<boost::json::object> parse_object(std::string_view body, std::string& error) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec) {
        error = "body is not JSON (" + ec.message() + ")";
        return std::nullopt;
    }
    if (!v.is_object()) {
        error = "body is not a JSON object";
        return std::nullopt;
    }
    return std::move(v.as_object());
}

}  // namespace changefeed::sources
