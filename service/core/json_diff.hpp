// Field-level differences between two states of a resource (SPEC section 4): every differing
// leaf named by its JSON Pointer (`/status`, `/billing_address/city`), an absent key counting as
// null, arrays compared as whole values unless an element key is configured for them.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace changefeed::core {

struct diff_options {
    /// Arrays (by the JSON Pointer of the array, e.g. "/lines") whose elements are objects
    /// matched by a key member (e.g. "id") instead of being compared whole. Their elements are
    /// then named by the key's value: "/lines/7/amount" is the `amount` of the line with id 7.
    std::map<std::string, std::string, std::less<>> array_keys;
};

/// `[{"field": "/pointer", "old": ..., "new": ...}, ...]` in a stable order (members sorted by
/// key at each level). Empty when the states are equal.
boost::json::array json_diff(const boost::json::value& before, const boost::json::value& after,
                             const diff_options& options = {});

/// Array keys from configuration entries written "POINTER=KEY" (e.g. "/invoice_lines=id"), or
/// the message naming the entry that is not.
std::variant<diff_options, std::string> parse_array_keys(const std::vector<std::string>& entries);

/// Escapes one reference token of a JSON Pointer ("~" -> "~0", "/" -> "~1").
std::string escape_pointer_token(std::string_view token);

}  // namespace changefeed::core
