#include "db/checkpoint_repository.hpp"

#include "db/sql.hpp"

#include <boost/json/parse.hpp>
#include <pqxx/pqxx>

namespace changefeed::db {

checkpoint_map load_checkpoints(pqxx::connection_base& conn, const std::string& source) {
    pqxx::read_transaction tx(conn);
    checkpoint_map out;
    for (const auto& row : tx.exec_params(std::string(sql::k_select_checkpoints), source)) {
        out[row[0].as<std::string>()] = boost::json::parse(row[1].c_str());
    }
    return out;
}

}  // namespace changefeed::db
