#include "db/resync_repository.hpp"

#include "db/sql.hpp"

#include <pqxx/pqxx>

namespace changefeed::db {

namespace {

std::optional<std::string> text_or_null(const pqxx::field& f) {
    if (f.is_null()) {
        return std::nullopt;
    }
    return f.as<std::string>();
}

resync_record to_record(const pqxx::row& row) {
    resync_record r;
    r.source = row[0].as<std::string>();
    r.state = row[1].as<std::string>();
    r.from = text_or_null(row[2]);
    r.started_at = row[3].as<std::string>();
    r.claimed = row[4].as<bool>();
    r.finished_at = text_or_null(row[5]);
    r.pages = row[6].as<std::int64_t>();
    r.events = row[7].as<std::int64_t>();
    r.error = text_or_null(row[8]);
    r.position = text_or_null(row[9]);
    r.eta = text_or_null(row[10]);
    return r;
}

boost::json::value string_or_null(const std::optional<std::string>& s) {
    return s ? boost::json::value(*s) : boost::json::value(nullptr);
}

} // namespace

boost::json::object resync_record::to_json() const {
    boost::json::object o{{"state", state},           {"from", string_or_null(from)},
                          {"started_at", started_at}, {"finished_at", string_or_null(finished_at)},
                          {"pages", pages},           {"events", events},
                          {"position", string_or_null(position)}, {"eta", string_or_null(eta)}};
    if (error) {
        o["error"] = *error;
    }
    return o;
}

std::optional<resync_record> request_resync(pqxx::connection_base& conn,
                                            const std::string& source,
                                            const std::optional<std::string>& from) {
    pqxx::work tx(conn);
    auto rows = tx.exec_params(std::string(sql::k_request_resync), source, from);
    if (rows.empty()) {
        tx.commit();
        return std::nullopt;
    }
    tx.exec_params(std::string(sql::k_notify_resync), source);
    auto record = to_record(rows[0]);
    tx.commit();
    return record;
}

std::optional<resync_record> read_resync(pqxx::connection_base& conn, const std::string& source) {
    pqxx::read_transaction tx(conn);
    auto rows = tx.exec_params(std::string(sql::k_select_resync), source);
    if (rows.empty()) {
        return std::nullopt;
    }
    return to_record(rows[0]);
}

std::vector<resync_record> read_resyncs(pqxx::connection_base& conn) {
    pqxx::read_transaction tx(conn);
    std::vector<resync_record> out;
    for (const auto& row : tx.exec(std::string(sql::k_select_resyncs))) {
        out.push_back(to_record(row));
    }
    return out;
}

bool claim_resync(pqxx::connection_base& conn, const std::string& source) {
    pqxx::work tx(conn);
    auto claimed = tx.exec_params(std::string(sql::k_claim_resync), source);
    if (claimed.affected_rows() == 0) {
        return false;
    }
    tx.exec_params(std::string(sql::k_delete_checkpoints), source);
    tx.commit();
    return true;
}

void record_resync_progress(pqxx::dbtransaction& tx, const std::string& source, std::int64_t pages,
                            std::int64_t events, bool done, const std::optional<std::string>& oldest,
                            const std::optional<std::string>& newest) {
    tx.exec_params(std::string(sql::k_resync_progress), source, pages, events, done, oldest, newest);
}

void fail_resync(pqxx::connection_base& conn, const std::string& source, const std::string& why) {
    pqxx::work tx(conn);
    tx.exec_params(std::string(sql::k_fail_resync), source, why);
    tx.commit();
}

} // namespace changefeed::db
