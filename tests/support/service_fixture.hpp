// The whole service, in-process on its own thread and io_context, on 127.0.0.1:0.
#pragma once

#include "app/config.hpp"

#include <memory>

namespace changefeed::test {

class running_service {
public:
    /// Starts the service with `config` (listen is forced to 127.0.0.1:0); throws if start fails.
    explicit running_service(app::app_config config);
    /// Stops it gracefully and joins its thread.
    ~running_service();

    [[nodiscard]] unsigned short port() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace changefeed::test
