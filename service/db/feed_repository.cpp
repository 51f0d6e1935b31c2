#include "db/feed_repository.hpp"

#include "db/sql.hpp"

#include <pqxx/pqxx>

namespace changefeed::db {

namespace {

std::string join(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) {
        if (!out.empty()) {
            out.push_back(',');
        }
        out += v;
    }
    return out;
}

using snapshot_tx =
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

}  // namespace

std::variant<feed_page, since_expired> read_feed(pqxx::connection_base& conn, const feed_query& q) {
    snapshot_tx tx(conn);
    auto floor = tx.exec1(std::string(sql::k_retention_floor))[0].as<std::int64_t>();
    if (q.since < floor) {
        auto oldest = tx.exec1(std::string(sql::k_oldest_seq))[0];
        since_expired expired;
        expired.oldest_available = oldest.is_null() ? floor + 1 : oldest.as<std::int64_t>();
        return expired;
    }
    // One row more than asked tells whether there is more.
    auto rows = tx.exec_params(std::string(sql::k_read_feed), q.since, join(q.filter.sources),
                               join(q.filter.resources), join(q.filter.operations),
                               static_cast<long long>(q.limit) + 1);
    feed_page page;
    page.next_since = q.since;
    page.has_more = rows.size() > q.limit;
    std::size_t n = std::min<std::size_t>(rows.size(), q.limit);
    page.events.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto seq = rows[i][0].as<std::int64_t>();
        const char* payload = rows[i][1].c_str();
        std::size_t len = rows[i][1].size();
        std::string event = "{\"seq\":" + std::to_string(seq);
        // payload is a non-empty JSON object: splice its members after seq.
        if (len > 2) {
            event.push_back(',');
        }
        event.append(payload + 1, len - 1);
        page.events.push_back(std::move(event));
        page.next_since = seq;
    }
    tx.commit();
    return page;
}

std::int64_t read_head_seq(pqxx::connection_base& conn) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(std::string(sql::k_head_seq))[0].as<std::int64_t>();
}

std::size_t delete_expired(pqxx::connection_base& conn, std::chrono::seconds retention,
                           std::size_t batch_size) {
    std::int64_t cutoff = 0;
    {
        pqxx::read_transaction tx(conn);
        cutoff = tx.exec_params1(std::string(sql::k_retention_cutoff),
                                 static_cast<double>(retention.count()))[0]
                     .as<std::int64_t>();
    }
    std::size_t deleted = 0;
    while (cutoff > 0) {
        pqxx::work tx(conn);
        auto row = tx.exec_params1(std::string(sql::k_delete_expired), cutoff,
                                   static_cast<long long>(batch_size));
        auto highest = row[0].as<std::int64_t>();
        if (highest == 0) {
            tx.commit();
            break;
        }
        // The floor moves with the deletion, in the same transaction: readers never see a hole.
        tx.exec_params(std::string(sql::k_raise_retention_floor), highest);
        deleted += row[1].as<std::size_t>();
        tx.commit();
        if (highest >= cutoff) {
            break;
        }
    }
    return deleted;
}

}  // namespace changefeed::db
