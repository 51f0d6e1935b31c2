// Schema migrations: numbered SQL files compiled into the binary, applied in order, each in its
// own transaction, recorded in `schema_migrations`, serialized across processes by an advisory lock.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace changefeed::db {

struct migration {
    std::string_view name;  ///< "0001_outbox.sql"
    std::string_view sql;
};

const std::vector<migration>& embedded_migrations();

/// Applies every pending migration; returns the names applied now. Throws on failure (the failing
/// migration's transaction is rolled back; earlier ones stay applied).
std::vector<std::string> apply_migrations(const std::string& database_url);

/// True when every embedded migration is recorded as applied. Throws if the database is unreachable.
bool migrations_applied(pqxx::connection_base& conn);

}  // namespace changefeed::db
