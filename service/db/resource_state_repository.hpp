// The last stored state of resources whose vendor gives only the new state, for computing an
// event's `changes` (SPEC section 4). Blocking: call through pg_pool or inside a commit.
#pragma once

#include <boost/json/value.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pqxx {
class connection_base;
class dbtransaction;
} // namespace pqxx

namespace changefeed::db {

/// The stored states of `ids` (those with none are absent from the answer).
std::map<std::string, boost::json::value> load_resource_states(pqxx::connection_base& conn,
                                                               const std::string& source,
                                                               const std::string& resource,
                                                               const std::vector<std::string>& ids);

/// Stores (id, state) pairs in order, a null state deleting the row; the last pair of an id wins.
void store_resource_states(pqxx::dbtransaction& tx,
                           const std::string& source,
                           const std::string& resource,
                           const std::vector<std::pair<std::string, boost::json::value>>& states);

} // namespace changefeed::db
