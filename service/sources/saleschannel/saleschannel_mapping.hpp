// Puro.earth sales-channel events, pure: the events page parsed from JSON, the keyset checkpoint
// (createdAt, the ids at it, the tie walk, the null-createdAt rows), the query of each request in
// either encoding, which rows of a page are new, and the change events they become (SPEC
// section 4). No I/O.
#pragma once

#include "core/change_event.hpp"
#include "core/time.hpp"
#include "sources/common/url.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace changefeed::sources::saleschannel {

/// One row of the event log.
struct log_row {
    std::string id;
    /// Null, absent or not a date-time: the row cannot take part in the keyset.
    std::optional<time::time_point> created_at;
    std::optional<time::time_point> event_at;
    boost::json::object raw;  ///< exactly as received
};

/// Parses the bare JSON array the events endpoint answers. Every row must be an object with a
/// string `id`; anything else in a row (eventType, details, times) is kept, never judged here.
std::variant<std::vector<log_row>, std::string> parse_events(std::string_view body);

/// The checkpoint. Every row with createdAt below `created_at` has been emitted, and so has
/// every row at it whose id is in `ids_at`; with `past` every row at `created_at` has (the next
/// request filters `gt`). `walk` is set while the rows at `created_at` are read in id order
/// because more of them share it than one page can hold: those up to and including the id it
/// names (empty: none yet) have been emitted.
struct log_state {
    std::optional<time::time_point> created_at;
    std::vector<std::string> ids_at;
    bool past = false;
    std::optional<std::string> walk;
    /// Ids of rows seen with a null createdAt (newest last, at most k_null_ids_cap).
    std::vector<std::string> null_ids;
    /// Distinct null-createdAt rows seen since the source began.
    std::uint64_t null_total = 0;

    [[nodiscard]] boost::json::value to_json() const;
    /// Reads what to_json wrote; an error message for anything else.
    static std::variant<log_state, std::string> from_json(const boost::json::value& v);
};

inline constexpr std::size_t k_null_ids_cap = 1000;

enum class query_encoding { brackets, json };

/// What one request asks for. Without bounds it reads the log from its start.
struct events_query {
    std::int64_t limit = 100;
    std::optional<time::time_point> gte;
    std::optional<time::time_point> gt;
    std::optional<time::time_point> lte;
    std::optional<std::string> id_gt;
    bool order_by_id = false;  ///< id as the second sort key (the tie walk)
};

/// The query string parameters of `q` (make_url percent-encodes them): `$limit`,
/// `$orderBy[createdAt]=asc`, `$filter[createdAt][gte]=...` in bracket notation, or `$orderBy`
/// and `$filter` as JSON objects.
query_params encode(const events_query& q, query_encoding encoding);

/// The request that continues the keyset from `s` with `limit` rows per page. `start` is the
/// lower bound before anything was read (start_from), else the log's beginning.
events_query next_query(const log_state& s, std::int64_t limit,
                        std::optional<time::time_point> start);

/// A time as the filter value: milliseconds (the vendor's precision), or microseconds when the
/// vendor gave more.
std::string filter_time(time::time_point t);

/// What a keyset page means for `s`: the rows not emitted before (in page order) and the state
/// once they are. `stuck`: the page is full and gives no way to move the keyset on (every row
/// at the current createdAt, or without one): read it again with a larger `$limit`, or walk
/// the tie in id order.
struct page_outcome {
    std::vector<const log_row*> fresh;
    log_state next;
    bool full = false;
    bool stuck = false;
};
page_outcome apply_page(const log_state& s, const std::vector<log_row>& page, std::int64_t limit);

/// A page of the tie walk (rows at `s.created_at`, in id order after `s.walk`). A page shorter
/// than `limit` ends the walk (`past` is set).
page_outcome apply_walk_page(const log_state& s, const std::vector<log_row>& page,
                             std::int64_t limit);

/// The rows of an unfiltered page (the null sweep) whose createdAt is null and that were not
/// seen before; the state remembers them. `stuck`: the page is full of null rows.
page_outcome apply_sweep_page(const log_state& s, const std::vector<log_row>& page,
                              std::int64_t limit);

/// The event of one row. TRANSACTION_STATUS_CHANGE with a `details.transactionId` becomes a
/// `transactions` update, with the status change when `details.status` is a string; any other
/// type or shape is kept raw under the lower-cased eventType with the event id as resource_id.
/// occurred_at: eventAt, else createdAt, else `polled_at`.
core::change_event make_event(const std::string& source, const log_row& row,
                              time::time_point polled_at);

/// The vendor's error text of a NestJS error body ({statusCode, message, error}; message may be
/// a list), or the start of any other body.
std::string error_text(std::string_view body);

}  // namespace changefeed::sources::saleschannel
