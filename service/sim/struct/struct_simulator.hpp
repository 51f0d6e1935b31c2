// A faithful Struct PIM transactions API (UPSTREAMS.md section 4, seed 003): the transaction
// search by CommitTimestamp with `page` and {TotalCount, Page, Transactions}, results ordered by
// StartTimestamp (so a transaction that started early and committed late shows up among old
// ones), changed entities in batches of at most 5000 uids, changed data types in batches of at
// most 1000 revision keys, revision data per entity, `Authorization: <key>` without Bearer,
// PascalCase JSON and times with seven fractional digits and an offset.
#pragma once

#include "core/time.hpp"
#include "sim/common/simulator.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace changefeed::sim {

class struct_simulator final : public simulator {
public:
    struct options {
        std::string api_key = "sim-struct-api-key";
        /// Transactions per search page (the vendor's is not documented).
        std::int64_t page_size = 100;
        std::string param_page = "page";
        std::string param_committed_after = "committedAfter";
        std::string param_committed_before = "committedBefore";
        std::string param_username = "username";
        std::size_t max_uids = 5000;           ///< per POST batch/changedentities (seed)
        std::size_t max_revision_keys = 1000;  ///< per POST changes/batch (UPSTREAMS decision)
    };

    /// A changed entity revision of a committed transaction.
    struct revision {
        std::string entity_type;
        std::string entity_id;
        std::int64_t revision_no = 0;
        std::string transaction_uid;
        bool deletion = false;

        friend bool operator<(const revision& a, const revision& b) {
            return std::tie(a.transaction_uid, a.entity_type, a.entity_id, a.revision_no) <
                   std::tie(b.transaction_uid, b.entity_type, b.entity_id, b.revision_no);
        }
    };

    explicit struct_simulator(options opts);
    struct_simulator() : struct_simulator(options{}) {}

    void install(http::router& routes) override;
    void tick(std::mt19937_64& rng) override;

    /// Commits `count` transactions with CommitTimestamp from `first` on, `spacing` apart, each
    /// started shortly before it committed and touching 1..`max_entities` entities of one type
    /// (creations, updates and deletions mixed).
    void commit_transactions(std::size_t count, time::time_point first,
                             std::chrono::microseconds spacing, std::uint64_t seed,
                             std::size_t max_entities = 3);
    /// One transaction (an import) creating `entities` products at `at`.
    void bulk_transaction(std::size_t entities, time::time_point at, std::uint64_t seed);
    /// Starts a transaction at `started`; the search does not show it until commit_pending.
    std::string begin_transaction(time::time_point started, std::uint64_t seed);
    /// Commits a transaction begun earlier, with CommitTimestamp `at` (which may lie before
    /// transactions already served: the commit became visible late).
    void commit_pending(const std::string& uid, time::time_point at);

    /// Every changed entity revision of the committed transactions.
    [[nodiscard]] std::vector<revision> revisions() const;
    /// How often each transaction uid was asked for in batch/changedentities.
    [[nodiscard]] std::map<std::string, std::uint64_t> changed_entity_lookups() const;
    /// Requests per endpoint: "search", "changedentities", "changes", "revisiondata".
    [[nodiscard]] std::uint64_t requests_of(const std::string& kind) const;
    /// The largest batch/changedentities body (uids) served.
    [[nodiscard]] std::size_t largest_uid_batch() const;
    [[nodiscard]] std::size_t largest_key_batch() const;

private:
    struct field_change {
        std::string field;
        std::int64_t revision_no = 0;
        boost::json::value before;
        boost::json::value value;
        std::string transaction_uid;
        std::string transaction_type;
        std::string username;
        time::time_point at;
    };
    struct entity {
        std::int64_t revision_no = 0;
        bool deleted = false;
        std::map<std::string, boost::json::value> fields;
        std::vector<field_change> history;
    };
    struct transaction {
        std::string uid;
        std::string type;
        std::string username;
        time::time_point started;
        std::optional<time::time_point> committed;
        std::vector<revision> changes;
        std::map<std::string, std::vector<std::string>> data_types;  ///< revision key -> types
    };

    std::optional<http::response> admit(const http::request& req);
    http::response search(const http::request& req);
    http::response changed_entities(const http::request& req);
    http::response changes(const http::request& req);
    http::response revision_data(const http::request& req);
    std::string new_uid(std::mt19937_64& rng);
    /// Applies a transaction's changes (picked now) and commits it at `at`.
    void apply(transaction& t, time::time_point at, std::mt19937_64& rng, std::size_t max_entities,
               std::optional<std::string> forced_type = std::nullopt, std::size_t forced_count = 0);

    options opts_;
    std::vector<transaction> transactions_;
    std::map<std::string, std::size_t> index_;  ///< uid -> transactions_ position
    std::map<std::pair<std::string, std::string>, entity> entities_;
    std::int64_t next_entity_id_;
    std::map<std::string, std::uint64_t> lookups_;
    std::map<std::string, std::uint64_t> requests_by_kind_;
    std::size_t largest_uid_batch_ = 0;
    std::size_t largest_key_batch_ = 0;
    std::vector<std::string> pending_;  ///< begun, not committed (the demo trickle commits them)
    std::mt19937_64 uid_rng_;
};

}  // namespace changefeed::sim
