#include "db/pg_pool.hpp"

#include <pqxx/pqxx>

#include <cstdlib>

namespace changefeed::db {

std::shared_ptr<pqxx::connection_base> open_connection(const std::string& url) {
    // libpq reads PGCONNECT_TIMEOUT when the URL does not say; a dead host must not hang us.
    ::setenv("PGCONNECT_TIMEOUT", "5", 0);
    std::shared_ptr<pqxx::connection_base> conn = std::make_shared<pqxx::connection>(url);
    pqxx::nontransaction tx(*conn);
    tx.exec0("SET statement_timeout = 30000");
    tx.exec0("SET application_name = 'changefeed'");
    return conn;
}

pg_pool::pg_pool(std::string url, std::size_t lanes)
    : url_(std::move(url)), threads_(lanes == 0 ? 1 : lanes) {
    for (std::size_t i = 0; i < (lanes == 0 ? 1 : lanes); ++i) {
        lanes_.push_back(std::make_unique<lane>(threads_));
    }
}

pg_pool::~pg_pool() { stop(); }

void pg_pool::stop() {
    threads_.join();
    for (auto& l : lanes_) {
        l->conn.reset();
    }
}

pg_pool::lane& pg_pool::pick() { return *lanes_[next_.fetch_add(1) % lanes_.size()]; }

pqxx::connection_base& pg_pool::connect(lane& l) {
    if (l.conn && !l.conn->is_open()) {
        l.conn.reset();
    }
    if (!l.conn) {
        l.conn = open_connection(url_);
    }
    return *l.conn;
}

bool is_unavailable(const std::exception& e) {
    if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
        return true;
    }
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
        // Class 08: connection exception; 57P01..57P03: shutdown, crash shutdown, cannot connect now.
        const auto& state = sql->sqlstate();
        return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
    }
    // A connection-level failure without SQLSTATE ("not connected", "could not obtain client
    // encoding") is a pqxx::failure that is no sql_error.
    return dynamic_cast<const pqxx::failure*>(&e) != nullptr;
}

}  // namespace changefeed::db
