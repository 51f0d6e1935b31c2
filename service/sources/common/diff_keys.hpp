// The `diff_array_keys` knob shared by the sources that compute `changes` themselves.
#pragma once

#include "core/json_diff.hpp"
#include "sources/kind_spec.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace changefeed::sources {

/// The knob: POINTER=KEY entries naming arrays whose elements `changes` matches by a key member.
inline knob_spec diff_array_keys_knob(const std::string& example) {
    return {.name = "diff_array_keys",
            .type = knob_type::string_list,
            .help = "arrays whose elements `changes` matches by a key member, as POINTER=KEY "
                    "(e.g. " + example + "); other arrays compare as whole values"};
}

/// The kind's load-time check of the knob: the message naming the entry that is not POINTER=KEY.
inline std::optional<std::string> check_diff_array_keys(const boost::json::object& options) {
    const auto* keys = options.if_contains("diff_array_keys");
    if (keys == nullptr || !keys->is_array()) {
        return std::nullopt;
    }
    std::vector<std::string> entries;
    for (const auto& entry : keys->get_array()) {
        entries.emplace_back(entry.as_string());
    }
    if (auto parsed = core::parse_array_keys(entries); auto* why = std::get_if<std::string>(&parsed)) {
        return "diff_array_keys: " + *why;
    }
    return std::nullopt;
}

}  // namespace changefeed::sources
