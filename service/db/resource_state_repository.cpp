#include "db/resource_state_repository.hpp"

#include "db/sql.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

namespace changefeed::db {

std::map<std::string, boost::json::value>
load_resource_states(pqxx::connection_base& conn,
                     const std::string& source,
                     const std::string& resource,
                     const std::vector<std::string>& ids) {
    std::map<std::string, boost::json::value> out;
    if (ids.empty()) {
        return out;
    }
    boost::json::array wanted(ids.begin(), ids.end());
    pqxx::read_transaction tx(conn);
    for (const auto& row : tx.exec_params(std::string(sql::k_select_resource_states), source,
                                          resource, boost::json::serialize(wanted))) {
        out[row[0].as<std::string>()] = boost::json::parse(row[1].c_str());
    }
    return out;
}

void store_resource_states(pqxx::dbtransaction& tx,
                           const std::string& source,
                           const std::string& resource,
                           const std::vector<std::pair<std::string, boost::json::value>>& states) {
    if (states.empty()) {
        return;
    }
    std::map<std::string, const boost::json::value*> last;
    for (const auto& [id, data] : states) {
        last[id] = &data;
    }
    boost::json::array input;
    for (const auto& [id, data] : last) {
        input.push_back(boost::json::object{{"id", id}, {"data", *data}});
    }
    tx.exec_params(std::string(sql::k_store_resource_states), source, resource,
                   boost::json::serialize(input));
}

} // namespace changefeed::db
