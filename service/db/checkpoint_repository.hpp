// Reading a source's stored checkpoints (they are written by the outbox writer, in the
// transaction of their events). Blocking: call through pg_pool.
#pragma once

#include <boost/json/value.hpp>

#include <map>
#include <string>

namespace pqxx {
class connection_base;
}

namespace changefeed::db {

/// scope ("" for the whole source, else e.g. a resource) -> checkpoint.
using checkpoint_map = std::map<std::string, boost::json::value>;

/// Every checkpoint stored for `source`. Throws on database errors.
checkpoint_map load_checkpoints(pqxx::connection_base& conn, const std::string& source);

}  // namespace changefeed::db
