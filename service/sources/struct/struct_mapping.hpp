// Struct PIM transactions, pure: search pages, changed entities, changed data types and revision
// data parsed from JSON (PascalCase), the walk checkpoint (commit watermark, uids already
// processed, the search walk in progress), which transactions of a page are new, and the change
// events of their changed entity revisions (SPEC section 4). No I/O.
#pragma once

#include "core/change_event.hpp"
#include "core/time.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace changefeed::sources::struct_pim {

struct transaction {
    std::string uid;
    std::string type;      ///< TransactionType, e.g. "Product update"
    std::string username;  ///< empty when not given
    std::optional<time::time_point> commit;  ///< absent: not committed (never processed)
    boost::json::object raw;
};

struct search_page {
    std::int64_t total_count = 0;
    std::int64_t page = 0;
    std::vector<transaction> transactions;
};

/// One changed entity revision of a transaction.
struct changed_entity {
    std::string entity_type;  ///< Product, Variant, Category, GlobalListValue
    std::string entity_id;    ///< EntityId, a number written as text when the vendor sends one
    std::int64_t revision = 0;
    std::string transaction_uid;
    boost::json::object raw;

    [[nodiscard]] std::string key() const;  ///< "<type>\x1f<id>\x1f<revision>"
};

/// A changed data type of a revision (POST /v1/transactions/changes/batch).
struct data_type_change {
    std::string key;  ///< as changed_entity::key
    std::string data_type;
};

/// One field's value change in one revision (revisiondata).
struct field_revision {
    std::string field;
    std::int64_t revision = 0;
    boost::json::value before;
    boost::json::value value;
};

std::variant<search_page, std::string> parse_search(std::string_view body);
std::variant<std::vector<changed_entity>, std::string> parse_changed_entities(std::string_view body);
std::variant<std::vector<data_type_change>, std::string> parse_data_types(std::string_view body);
/// Every field revision in a revisiondata answer (LastChange and ItemRevisionChange, once each).
std::variant<std::vector<field_revision>, std::string> parse_revision_data(std::string_view body);

/// The `changes` of `revision`: {field: FieldName, old: ValueBefore, new: RevisionValue}.
boost::json::array changes_of(const std::vector<field_revision>& data, std::int64_t revision);

/// The search walk in progress: the bounds of its query, the next page, the largest page the
/// vendor has answered (its real page size), the newest CommitTimestamp seen and the TotalCount
/// of the last page (a change means the result set moved under the walk) and how often the walk
/// started again at page 1 for that.
struct walk_state {
    std::optional<time::time_point> after;
    time::time_point before;
    std::int64_t page = 1;
    std::int64_t page_len = 0;
    std::optional<time::time_point> max_commit;
    std::optional<std::int64_t> total;
    std::int64_t restarts = 0;
};

/// Restarts of one walk, so a vendor whose TotalCount is not exact cannot hold the source in one
/// walk for ever.
inline constexpr std::int64_t k_walk_restart_cap = 3;

/// The checkpoint. Every transaction committed before `watermark - overlap` has been processed,
/// and so has every transaction in `recent` (uid and CommitTimestamp; at most k_recent_cap of
/// them, the newest kept). A walk in progress resumes at its page.
struct struct_state {
    std::optional<time::time_point> watermark;
    std::vector<std::pair<time::time_point, std::string>> recent;
    std::optional<walk_state> walk;

    [[nodiscard]] boost::json::value to_json() const;
    static std::variant<struct_state, std::string> from_json(const boost::json::value& v);
};

inline constexpr std::size_t k_recent_cap = 5000;

/// A new walk's query bounds: committed after the watermark minus the overlap (or `start`, or
/// everything), before `now`.
walk_state start_walk(const struct_state& s, std::chrono::microseconds overlap,
                      std::optional<time::time_point> start, time::time_point now);

/// What a search page means: the transactions to process (committed, not processed before;
/// ordered by CommitTimestamp, Uid), how many were skipped as uncommitted, whether the walk
/// ends here or starts again at page 1 (TotalCount changed since the previous page: a commit
/// became visible inside the bounds and may have sorted onto a page already read), whether it
/// changed once more after k_walk_restart_cap restarts and the walk went on regardless, and the
/// state once they are processed.
struct page_outcome {
    std::vector<const transaction*> fresh;
    std::size_t uncommitted = 0;
    bool last = false;
    bool restarted = false;
    bool moved_past_cap = false;
    struct_state next;
};
page_outcome apply_search_page(const struct_state& s, const search_page& page,
                               std::int64_t page_size, std::chrono::microseconds overlap);

/// `items` cut into chunks of at most `size`.
template <class T>
std::vector<std::vector<T>> chunks(const std::vector<T>& items, std::size_t size) {
    std::vector<std::vector<T>> out;
    for (std::size_t begin = 0; begin < items.size(); begin += size) {
        auto end = std::min(items.size(), begin + size);
        out.emplace_back(items.begin() + static_cast<std::ptrdiff_t>(begin),
                         items.begin() + static_cast<std::ptrdiff_t>(end));
    }
    return out;
}

/// products, variants, categories, globallistvalues; any other type lower-cased.
std::string resource_of(std::string_view entity_type);
/// delete when the TransactionType (or the entity's ChangeType) names a deletion, insert for
/// revision 1, else update.
std::string operation_of(const transaction& t, const changed_entity& e);

/// The event of one changed entity revision. `changes`: the field diffs (field_diffs), nullopt
/// when unknown; `data_types`: the changed data types (field_diffs), nullopt when not fetched.
core::change_event make_event(const std::string& source, const transaction& t,
                              const changed_entity& e, std::optional<boost::json::array> changes,
                              std::optional<boost::json::array> data_types);

/// The vendor's error text in a body ({"Message": ...}, {"title": ...}), or its start.
std::string error_text(std::string_view body);

}  // namespace changefeed::sources::struct_pim
