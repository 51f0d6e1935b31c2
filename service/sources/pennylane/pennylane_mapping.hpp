// Pennylane, pure: changelog and list pages parsed from JSON, the per-resource checkpoint, which
// items of a page are new, and the change events they become (SPEC section 4). No I/O.
#pragma once

#include "core/change_event.hpp"
#include "core/time.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace changefeed::sources::pennylane {

/// A changelog item's identity: the same id can appear twice at one processed_at with
/// different operations.
struct change_key {
    time::time_point processed_at;
    std::int64_t id = 0;
    std::string operation;

    friend bool operator==(const change_key&, const change_key&) = default;
};

struct resync_progress {
    time::time_point started_at;
    std::optional<std::string> cursor;  ///< of the list endpoint
    std::uint64_t pages = 0;
    std::uint64_t events = 0;
};

/// The checkpoint of one resource. Every change with processed_at below `floor` has been
/// emitted, and so has every key in `recent` (all keys at or after `floor`). `floor` trails
/// `watermark` (the newest processed_at emitted) by the overlap, so changes that reach the
/// changelog late by up to the overlap are still caught; when more than `recent_cap` keys fall
/// in that span the floor moves up (never past the watermark: its keys are always kept).
struct resource_state {
    std::optional<time::time_point> watermark;
    std::optional<time::time_point> floor;
    std::vector<change_key> recent;
    std::optional<std::string> cursor;  ///< mid-walk changelog cursor
    std::optional<resync_progress> resync;

    [[nodiscard]] boost::json::value to_json() const;
    /// Reads what to_json wrote; an error message for anything else.
    static std::variant<resource_state, std::string> from_json(const boost::json::value& v);
};

inline constexpr std::size_t k_recent_cap = 1000;

struct changelog_item {
    change_key key;
    boost::json::object raw;  ///< exactly as received
};

struct changelog_page {
    std::vector<changelog_item> items;
    bool has_more = false;
    std::optional<std::string> next_cursor;
};

struct list_page {
    std::vector<boost::json::object> items;
    bool has_more = false;
    std::optional<std::string> next_cursor;
};

/// Parses a changelog response body; the error names what is missing or malformed.
std::variant<changelog_page, std::string> parse_changelog(std::string_view body);
/// Parses a list (resource) response body.
std::variant<list_page, std::string> parse_list(std::string_view body);

/// What a page means for a resource: the items not emitted before (in page order) and the
/// state once they are. `caught_up_at`: when the vendor said there is nothing more (the request
/// time of a last page), so a quiet resource's watermark still moves.
struct page_outcome {
    std::vector<const changelog_item*> fresh;
    resource_state next;
};
page_outcome apply_page(const resource_state& state, const changelog_page& page,
                        std::chrono::microseconds overlap,
                        std::optional<time::time_point> caught_up_at);

/// The event of one changelog item. `data`: the hydrated record, null when the record is gone,
/// nullopt when the source does not hydrate.
core::change_event make_event(const std::string& source, const std::string& resource,
                              const changelog_item& item,
                              std::optional<boost::json::value> data);

/// The `update` event of a record listed by a resync (`snapshot: true`), identified by the
/// record's id and its own updated_at.
core::change_event make_snapshot_event(const std::string& source, const std::string& resource,
                                       const boost::json::object& record, time::time_point listed_at);

/// `[{"field":"id","operator":"in","value":[...]}]`
std::string id_in_filter(const std::vector<std::int64_t>& ids);

/// The list endpoints hydration and resync read (the changelogs of other resources have none).
bool has_list_endpoint(std::string_view resource);

/// The vendor's error text of a JSON error body ({"error": "...", "status": n}), or the start of
/// a plain-text body.
std::string error_text(std::string_view body);

}  // namespace changefeed::sources::pennylane
