#include "support/serve_child.hpp"

#include "support/child_process.hpp"

#include <pqxx/pqxx>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace changefeed::test {

int serve_until_ended(const std::string& database_url, const std::string& sources_yaml,
                      std::atomic<int>& pid, std::chrono::milliseconds timeout) {
    static std::atomic<int> counter{0};
    auto dir = std::filesystem::temp_directory_path() /
               ("cf-serve-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir);
    auto config_path = (dir / "config.yaml").string();
    auto log_path = (dir / "serve.log").string();
    {
        std::ofstream out(config_path);
        out << "listen: \"127.0.0.1:0\"\n"
            << "database_url: \"" << database_url << "\"\n"
            << "sources:\n"
            << sources_yaml;
    }
    int status = -1;
    {
        child_process child(changefeed_binary(), {"serve", "--config", config_path}, log_path);
        pid = child.pid();
        status = child.wait(static_cast<int>(timeout.count()));
        pid = -1;
    }
    if (status != 128 + SIGKILL) {
        std::ifstream log(log_path);
        std::stringstream text;
        text << log.rdbuf();
        std::cerr << "changefeed serve ended with " << status << "; its log:\n" << text.str();
    }
    std::filesystem::remove_all(dir);
    return status;
}

std::size_t stored_events(const std::string& database_url) {
    pqxx::connection c(database_url);
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT count(*) FROM outbox")[0].as<std::size_t>();
}

}  // namespace changefeed::test
