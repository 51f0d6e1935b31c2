#include "sources/precoro/precoro_store.hpp"

#include "db/sql.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <set>
#include <utility>

namespace changefeed::sources::precoro {

namespace {

std::string array_literal(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        out += '"' + items[i] + '"';  // RFC 3339 texts and integers: nothing to escape
    }
    return out + "}";
}

time::time_point from_micros(std::int64_t us) {
    return time::time_point(std::chrono::microseconds(us));
}

}  // namespace

std::vector<bool> enqueue(pqxx::dbtransaction& tx, const std::string& source,
                          const std::vector<delivery>& deliveries) {
    struct row {
        int action = 1;
        std::optional<std::string> idn;
        int count = 0;
    };
    // Ordered by entity: concurrent transactions lock their rows in the same order.
    std::map<std::pair<int, std::int64_t>, row> rows;
    for (const auto& d : deliveries) {
        auto& r = rows[{d.type, d.id}];
        r.action = r.count == 0 ? d.action : std::min(r.action, d.action);
        if (d.idn) {
            r.idn = d.idn;
        }
        ++r.count;
    }
    boost::json::array input;
    input.reserve(rows.size());
    for (const auto& [key, r] : rows) {
        boost::json::value idn = nullptr;
        if (r.idn) {
            idn = boost::json::string(*r.idn);
        }
        input.push_back(boost::json::object{
            {"t", key.first}, {"i", key.second}, {"a", r.action}, {"n", std::move(idn)}, {"c", r.count}});
    }
    std::set<std::pair<int, std::int64_t>> fresh;
    for (const auto& r : tx.exec_params(std::string(db::sql::k_precoro_enqueue), source,
                                        boost::json::serialize(input))) {
        if (r[2].as<bool>()) {
            fresh.emplace(r[0].as<int>(), r[1].as<std::int64_t>());
        }
    }
    std::vector<bool> out;
    out.reserve(deliveries.size());
    for (const auto& d : deliveries) {
        // erase: a later delivery of the same entity finds the row its predecessor queued.
        out.push_back(fresh.erase({d.type, d.id}) == 1);
    }
    return out;
}

queue_snapshot read_queue(pqxx::connection_base& conn, const std::string& source, std::size_t limit) {
    pqxx::read_transaction tx(conn);
    queue_snapshot out;
    for (const auto& row : tx.exec_params(std::string(db::sql::k_precoro_queue_due), source,
                                          static_cast<std::int64_t>(limit))) {
        queued_entity q;
        q.type = row[0].as<int>();
        q.id = row[1].as<std::int64_t>();
        q.action = row[2].as<int>();
        if (!row[3].is_null()) {
            q.idn = row[3].as<std::string>();
        }
        q.version = row[4].as<std::int64_t>();
        q.attempts = row[5].as<int>();
        out.due.push_back(std::move(q));
    }
    out.depth = tx.exec_params1(std::string(db::sql::k_precoro_queue_depth), source)[0].as<std::int64_t>();
    return out;
}

void queue_done(pqxx::dbtransaction& tx, const std::string& source, const queued_entity& q) {
    tx.exec_params(std::string(db::sql::k_precoro_queue_done), source, q.type, q.id, q.version);
}

void queue_later(pqxx::dbtransaction& tx, const std::string& source, const queued_entity& q,
                 std::chrono::seconds delay, const std::string& error) {
    tx.exec_params(std::string(db::sql::k_precoro_queue_later), source, q.type, q.id, q.version,
                   static_cast<double>(delay.count()), error.substr(0, 500));
}

std::map<std::int64_t, known_entity> load_entities(pqxx::connection_base& conn, const std::string& source,
                                                   const std::string& resource,
                                                   const std::vector<std::int64_t>& ids) {
    std::map<std::int64_t, known_entity> out;
    if (ids.empty()) {
        return out;
    }
    std::vector<std::string> texts;
    for (auto id : ids) {
        texts.push_back(std::to_string(id));
    }
    pqxx::read_transaction tx(conn);
    for (const auto& row : tx.exec_params(std::string(db::sql::k_precoro_entities), source, resource,
                                          array_literal(texts))) {
        known_entity k;
        k.version = row[1].as<std::string>();
        k.data = row[2].is_null() ? boost::json::value(nullptr) : boost::json::parse(row[2].c_str());
        k.deleted = row[3].as<bool>();
        out[row[0].as<std::int64_t>()] = std::move(k);
    }
    return out;
}

void store_entity(pqxx::dbtransaction& tx, const std::string& source, const std::string& resource,
                  std::int64_t id, const known_entity& state) {
    std::optional<std::string> data;
    if (!state.data.is_null()) {
        data = boost::json::serialize(state.data);
    }
    tx.exec_params(std::string(db::sql::k_precoro_entity_upsert), source, resource, id, state.version,
                   data, state.deleted);
}

budget_record load_budget(pqxx::connection_base& conn, const std::string& source,
                          time::time_point since, time::time_point now) {
    pqxx::read_transaction tx(conn);
    budget_record out;
    for (const auto& row : tx.exec_params(std::string(db::sql::k_precoro_requests_since), source,
                                          time::format_rfc3339_us(since))) {
        out.requests.push_back(from_micros(row[0].as<std::int64_t>()));
    }
    auto pause = tx.exec_params(std::string(db::sql::k_precoro_pause_get), source,
                                time::format_rfc3339_us(now));
    if (!pause.empty()) {
        out.paused_until = from_micros(pause[0][0].as<std::int64_t>());
        out.pause_reason = pause[0][1].as<std::string>();
    }
    return out;
}

void save_budget(pqxx::connection_base& conn, const std::string& source,
                 const std::vector<time::time_point>& requests, time::time_point prune_until,
                 const std::optional<std::pair<time::time_point, std::string>>& pause) {
    pqxx::work tx(conn);
    if (!requests.empty()) {
        std::vector<std::string> texts;
        for (auto t : requests) {
            texts.push_back(time::format_rfc3339_us(t));
        }
        tx.exec_params(std::string(db::sql::k_precoro_requests_add), source, array_literal(texts));
    }
    tx.exec_params(std::string(db::sql::k_precoro_requests_prune), source,
                   time::format_rfc3339_us(prune_until));
    if (pause) {
        tx.exec_params(std::string(db::sql::k_precoro_pause_set), source,
                       time::format_rfc3339_us(pause->first), pause->second);
    }
    tx.commit();
}

}  // namespace changefeed::sources::precoro
