// Precoro, pure: the entity types of its webhooks, webhook bodies validated, list and detail
// bodies parsed, the 429 body, the per-resource sweep checkpoint, and the change events with
// `changes` against the previous state (SPEC section 4). No I/O.
#pragma once

#include "core/change_event.hpp"
#include "core/json_diff.hpp"
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

namespace changefeed::sources::precoro {

/// A webhook entity `type` (UPSTREAMS.md 5.7) and the resource that serves it.
struct entity_type {
    int type = 0;
    std::string_view resource;
    /// Documents are read by idn (`/purchaseorders/{idn}`), master data by id (`/suppliers/{id}`).
    bool by_idn = false;
};

/// The twelve webhook types, 0..11.
const std::vector<entity_type>& entity_types();
/// The type of webhook `type`, or null outside 0..11.
const entity_type* type_of(int type);
/// The webhook type whose resource is `resource`, or null (`items` get no webhooks).
const entity_type* type_of_resource(std::string_view resource);

/// A webhook body: "entity `type`/`id` changed" (`action` 0 create, 1 update).
struct delivery {
    std::int64_t id = 0;
    int type = 0;
    int action = 0;
    std::optional<std::string> idn;  ///< as text; integers are written in decimal
};

/// Validates a webhook body: a JSON object with a positive integer `id`, `type` 0..11, `action`
/// 0 or 1, and optionally `idn` (integer, string or null). Other members are ignored. The error
/// names the member at fault.
std::variant<delivery, std::string> parse_delivery(std::string_view body);

/// The vendor's detail path of an entity: `/purchaseorders/5` (documents, by idn) or
/// `/suppliers/123` (by id); nullopt for a document without a usable idn.
std::optional<std::string> detail_path(const entity_type& t, std::int64_t id,
                                       const std::optional<std::string>& idn);

/// One version of an entity as the vendor returned it.
struct entity_version {
    std::int64_t id = 0;
    time::time_point updated;                 ///< updateDate: the version
    std::optional<time::time_point> created;  ///< createDate, when present and readable
    boost::json::object raw;                  ///< exactly as received
};

/// Reads an entity object: an integer `id` and an `updateDate` (RFC 3339; without a zone it is
/// read as UTC). The error names what is missing.
std::variant<entity_version, std::string> read_entity(const boost::json::value& v);
/// A detail response body (the object itself, not wrapped in `data`).
std::variant<entity_version, std::string> parse_entity(std::string_view body);

struct list_page {
    std::vector<entity_version> items;
    bool has_next_page = false;
};
/// A list response body: `data[*]` plus `meta.pagination` with `has_next_page`, or the older
/// `current_page`/`total_pages`.
std::variant<list_page, std::string> parse_list(std::string_view body);

/// The JSON body of Precoro's 429.
struct throttle {
    std::string type;  ///< `RateLimit-Type`: "Daily limiter", "Hourly limiter", ...
    std::optional<time::time_point> retry_at;
};
/// Reads `RateLimit-Type` and the absolute `RateLimit-Retry-After` ("YYYY-MM-DD HH:MM:SS UTC");
/// a daily limiter without a readable time pauses until the next UTC midnight after `now`.
/// nullopt when the body says neither.
std::optional<throttle> parse_throttle(std::string_view body, time::time_point now);

/// `modifiedSince` text: "YYYY-MM-DDTHH:MM:SS", UTC, seconds rounded down.
std::string format_modified_since(time::time_point t);

/// The version key of an entity (updateDate, RFC 3339 UTC with microseconds).
std::string version_text(time::time_point updated);

/// What the service stored of an entity: the newest version it emitted.
struct known_entity {
    std::string version;  ///< version_text(), or "" for an entity first seen deleted
    boost::json::value data;  ///< null once deleted
    bool deleted = false;
};

/// True when `seen` is not newer than what was emitted already (nothing to emit).
bool already_known(const known_entity* previous, const entity_version& seen);

/// `insert` for a creation the service has not seen an earlier version of (a webhook with
/// action 0, or createDate equal to updateDate), else `update`.
std::string operation_of(const entity_version& seen, std::optional<int> webhook_action,
                         const known_entity* previous);

/// The event of an entity version: identity (source, resource, id, updateDate); `data` and
/// `upstream` the entity; `changes` against `previous` unless this is the first sight (arrays
/// keyed as `diff` says, the diff_array_keys knob).
core::change_event make_version_event(const std::string& source, const std::string& resource,
                                      const entity_version& seen, const std::string& operation,
                                      const known_entity* previous,
                                      const core::diff_options& diff = {});

/// The `delete` of an entity the vendor no longer has (404). Identity: (source, resource, id,
/// "delete", the last version emitted or ""), so repeated 404s are one event; occurred_at is when
/// the deletion was noticed.
core::change_event make_delete_event(const std::string& source, const std::string& resource,
                                     std::int64_t id, const known_entity* previous,
                                     time::time_point noticed, boost::json::object upstream);

/// A walk through one resource's list from `since` (a sweep), page by page.
struct sweep_walk {
    std::optional<std::string> since;  ///< modifiedSince sent; nullopt: the whole list
    std::int64_t page = 1;             ///< the next page to read
    time::time_point started_at;
    std::optional<time::time_point> high;  ///< newest updateDate listed so far
    std::vector<std::int64_t> high_keys;   ///< ids listed at `high`
};

/// The checkpoint of one resource. `watermark` is the newest updateDate a finished sweep listed
/// and `keys` the ids listed at it; the next sweep asks for modifiedSince = watermark - overlap.
struct sweep_state {
    std::optional<time::time_point> watermark;
    std::vector<std::int64_t> keys;
    std::optional<time::time_point> last_sweep_at;  ///< when the last finished sweep started
    std::optional<sweep_walk> walk;                 ///< a sweep in progress
    /// The configured `start_from` (or a resync's `from`): sweeps still reach `overlap` before
    /// it (the vendor's modifiedSince zone is uncertain), but versions older than it are never
    /// emitted.
    std::optional<time::time_point> start;

    [[nodiscard]] boost::json::value to_json() const;
    /// Reads what to_json wrote; an error message for anything else.
    static std::variant<sweep_state, std::string> from_json(const boost::json::value& v);
};

/// A new walk from the watermark minus `overlap` (the whole list without a watermark).
sweep_walk start_walk(const sweep_state& state, std::chrono::microseconds overlap,
                      time::time_point now);
/// True for a version older than the configured start (to the second): listed because of the
/// overlap, but before what the source was told to read.
bool before_start(const sweep_state& state, const entity_version& seen);
/// Notes a listed version in the walk's high-water mark.
void note_listed(sweep_walk& walk, const entity_version& seen);
/// Ends the walk: the watermark moves to its high-water mark (never back).
void finish_walk(sweep_state& state);
/// True when `seen` is at the watermark and among its keys (emitted by an earlier sweep).
bool at_watermark(const sweep_state& state, const entity_version& seen);

/// The vendor's error text of an error body (`message`, `errors`...), or the start of the body.
std::string error_text(std::string_view body);

}  // namespace changefeed::sources::precoro
