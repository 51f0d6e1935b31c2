// `changefeed demo`: every registered vendor's simulator served on 127.0.0.1 in this process,
// and a configuration whose sources poll them.
#pragma once

#include "app/config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <variant>

namespace changefeed::app {

class demo {
public:
    /// Starts listening with every simulator (throws when a port cannot be bound).
    explicit demo(boost::asio::io_context& ioc);
    ~demo();

    /// The service configuration for the demo: the simulators as sources, no feed tokens.
    std::variant<app_config, config_error> config(const std::string& database_url,
                                                  const std::string& listen) const;

    /// Serves the simulators and their trickle of changes until stop().
    boost::asio::awaitable<void> run();
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace changefeed::app
