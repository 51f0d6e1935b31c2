// The normalized change event of SPEC section 4, and its deterministic identity.
#pragma once

#include <boost/json/value.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace changefeed::core {

struct change_event {
    std::string event_id;     ///< UUID, from make_event_id()
    std::string source;       ///< configured source name
    std::string source_kind;  ///< pennylane | saleschannel | retailcrm | struct | precoro
    std::string resource;
    std::string resource_id;
    std::string operation;    ///< insert | update | delete
    std::string occurred_at;  ///< RFC 3339 UTC with milliseconds
    std::optional<boost::json::value> changes;  ///< array of {field, old, new}; absent when unknown
    std::optional<boost::json::value> actor;
    std::optional<boost::json::value> data;     ///< engaged null = "data": null
    boost::json::value upstream;                ///< the raw upstream record
    bool snapshot = false;                      ///< emitted by a resync listing, not a change log
};

/// A name-based (version 5) UUID over the parts of an upstream identity, so the same upstream
/// change always yields the same event_id.
std::string make_event_id(std::initializer_list<std::string_view> identity);

/// The stored payload: every field of the event except `seq` (the feed prepends it).
boost::json::object to_payload(const change_event& e, std::string_view recorded_at);

/// True for "insert", "update", "delete".
bool is_operation(std::string_view op);

}  // namespace changefeed::core
