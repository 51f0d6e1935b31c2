// retailCRM, pure: history pages parsed from JSON, the per-resource checkpoint, which records of a
// page are new, and the change events they become (SPEC section 4, UPSTREAMS.md section 3). No I/O.
#pragma once

#include "core/change_event.hpp"
#include "sources/retailcrm/account_zone.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace changefeed::sources::retailcrm {

/// The five history methods: `orders`, `customers`, `customers_corporate`, `orders_packs`,
/// `tasks`. The path below /api/v5 ("/orders/history"), or empty for another resource.
std::string_view history_path(std::string_view resource);
/// The key of the changed entity in a record of that method: order, customer, pack, task.
std::string_view entity_key(std::string_view resource);

/// The checkpoint of one history method: every record up to `since_id` has been emitted (or
/// skipped as our own). Before the first record, `start_date` pins the bootstrap
/// filter[startDate] (account time, "Y-m-d H:i:s") so that a `start_from: now` stays put.
struct resource_state {
    std::optional<std::int64_t> since_id;
    std::optional<std::string> start_date;

    [[nodiscard]] boost::json::value to_json() const;
    /// Reads what to_json wrote; an error message for anything else.
    static std::variant<resource_state, std::string> from_json(const boost::json::value& v);

    friend bool operator==(const resource_state&, const resource_state&) = default;
};

struct history_record {
    std::int64_t id = 0;      ///< the history record's id (ascending in the vendor's order)
    std::string resource_id;  ///< the changed entity's id
    std::chrono::local_seconds created_at;  ///< account time
    boost::json::object raw;                ///< exactly as received
};

struct pagination {
    std::int64_t limit = 0;
    std::int64_t total_count = 0;
    std::int64_t current_page = 0;
    std::int64_t total_page_count = 0;
};

struct history_page {
    std::vector<history_record> records;
    std::optional<pagination> pages;
};

/// Parses a history answer of `resource` (`{success, history, pagination}`); the error names
/// what is missing or malformed. A record needs an integer `id`, a "Y-m-d H:i:s" `createdAt`
/// and its entity with an `id`.
std::variant<history_page, std::string> parse_history(std::string_view resource,
                                                      std::string_view body);

/// True when the record was made through the requesting API key (`apiKey.current`).
bool is_own_change(const boost::json::object& record);

/// What a page means for a method: the records to emit (in id order, once each) and the state
/// once they are. Records at or below since_id are dropped (the vendor's filter is strictly
/// greater); with `skip_own_changes`, records made with our key are dropped too but still move
/// since_id.
struct page_outcome {
    std::vector<const history_record*> fresh;
    std::size_t skipped_own = 0;
    resource_state next;
    /// The vendor has more after this page (and the page moved since_id, so asking again
    /// makes progress).
    bool more = false;
};
page_outcome apply_page(const resource_state& state,
                        const history_page& page,
                        std::int64_t page_limit,
                        bool skip_own_changes);

/// The event of one history record: `changes` from field/oldValue/newValue (values as the vendor
/// typed them, an absent value as null), `actor` from user/apiKey/source, occurred_at from
/// createdAt read in `zone`.
core::change_event make_event(const std::string& source,
                              const std::string& resource,
                              const history_record& record,
                              const account_zone& zone);

/// The vendor's explanation of a failed answer: `errorMsg` plus `errors` (an object or a
/// list); for an HTML body, what it means (the account does not exist, or a throttling 503).
std::string error_text(unsigned status, std::string_view body);

/// True when the body is an HTML page rather than JSON (retailCRM's answer for an account that
/// does not exist).
bool looks_like_html(std::string_view body);

}  // namespace changefeed::sources::retailcrm
