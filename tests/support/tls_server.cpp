// A test certificate authority (openssl command line) and a TLS-terminating proxy (Asio SSL).
#include "support/tls_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace changefeed::test {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// P-256 keys: made in milliseconds, unlike RSA.
constexpr const char* k_new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

void run_openssl(const std::string& args) {
    auto cmd = "openssl " + args + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
        throw std::runtime_error("test_pki: failed: " + cmd);
    }
}

std::string shell_quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

}  // namespace

test_pki::test_pki() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("cf-pki-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ca_ = {(dir_ / "ca.pem").string(), (dir_ / "ca.key").string()};
    run_openssl(std::string("req -x509 ") + k_new_key + " -days 1 -subj /CN=changefeed-test-ca" +
                " -addext basicConstraints=critical,CA:TRUE" +
                " -addext keyUsage=critical,keyCertSign,cRLSign" + " -keyout " +
                shell_quoted(ca_.key_file) + " -out " + shell_quoted(ca_.cert_file));
}

test_pki::~test_pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

tls_identity test_pki::issue(const std::string& subject_alt_name) {
    auto stem = dir_ / ("issued-" + std::to_string(issued_++));
    tls_identity id{stem.string() + ".pem", stem.string() + ".key"};
    auto ext = stem.string() + ".ext";
    std::ofstream(ext) << "subjectAltName=" << subject_alt_name
                       << "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    run_openssl(std::string("req ") + k_new_key + " -subj /CN=changefeed-test -keyout " +
                shell_quoted(id.key_file) + " -out " + shell_quoted(stem.string() + ".csr"));
    run_openssl("x509 -req -days 1 -in " + shell_quoted(stem.string() + ".csr") + " -CA " +
                shell_quoted(ca_.cert_file) + " -CAkey " + shell_quoted(ca_.key_file) +
                " -set_serial " + std::to_string(1000 + issued_) + " -extfile " + shell_quoted(ext) +
                " -out " + shell_quoted(id.cert_file));
    return id;
}

tls_identity test_pki::self_signed(const std::string& subject_alt_name) {
    auto stem = dir_ / ("self-" + std::to_string(issued_++));
    tls_identity id{stem.string() + ".pem", stem.string() + ".key"};
    run_openssl(std::string("req -x509 ") + k_new_key + " -days 1 -subj /CN=changefeed-test" +
                " -addext subjectAltName=" + subject_alt_name + " -keyout " + shell_quoted(id.key_file) +
                " -out " + shell_quoted(id.cert_file));
    return id;
}

//------------------------------------------------------------------------------ proxy

struct tls_proxy::impl {
    impl(const tls_identity& identity, unsigned short backend)
        : tls(ssl::context::tls_server), acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0}),
          backend_port(backend) {
        tls.use_certificate_chain_file(identity.cert_file);
        tls.use_private_key_file(identity.key_file, ssl::context::pem);
        port = acceptor.local_endpoint().port();
    }

    // Copies a -> b until either side ends, then closes both.
    template <class From, class To>
    static asio::awaitable<void> pump(From& from, To& to, std::shared_ptr<void> keep) {
        std::array<char, 16 * 1024> buf{};
        for (;;) {
            auto [read_ec, n] = co_await from.async_read_some(asio::buffer(buf), use_tuple);
            if (read_ec) {
                break;
            }
            auto [write_ec, written] = co_await asio::async_write(to, asio::buffer(buf.data(), n), use_tuple);
            if (write_ec) {
                break;
            }
        }
        boost::system::error_code ignored;
        from.lowest_layer().close(ignored);
        to.lowest_layer().close(ignored);
        (void)keep;
    }

    struct pair {
        pair(tcp::socket s, ssl::context& ctx) : front(std::move(s), ctx), back(front.get_executor()) {}
        ssl::stream<tcp::socket> front;
        tcp::socket back;
    };

    asio::awaitable<void> serve(std::shared_ptr<pair> p) {
        auto [hs] = co_await p->front.async_handshake(ssl::stream_base::server, use_tuple);
        if (hs) {
            ++failed;
            co_return;
        }
        ++completed;
        tcp::endpoint backend(asio::ip::make_address("127.0.0.1"), backend_port);
        auto [connect_ec] = co_await p->back.async_connect(backend, use_tuple);
        if (connect_ec) {
            co_return;
        }
        auto ex = co_await asio::this_coro::executor;
        asio::co_spawn(ex, pump(p->back, p->front, p), asio::detached);
        co_await pump(p->front, p->back, p);
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
            if (ec) {
                co_return;
            }
            auto p = std::make_shared<pair>(std::move(socket), tls);
            asio::co_spawn(ioc, serve(p), asio::detached);
        }
    }

    // Destroyed in reverse: the acceptor, then the io_context (with any connection still open),
    // then the TLS context.
    ssl::context tls;
    asio::io_context ioc;
    tcp::acceptor acceptor;
    unsigned short backend_port;
    unsigned short port = 0;
    std::atomic<int> completed{0};
    std::atomic<int> failed{0};
    std::thread thread;
};

tls_proxy::tls_proxy(const tls_identity& identity, unsigned short backend_port)
    : impl_(std::make_unique<impl>(identity, backend_port)) {
    asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

tls_proxy::~tls_proxy() {
    impl_->ioc.stop();
    impl_->thread.join();
}

unsigned short tls_proxy::port() const { return impl_->port; }
int tls_proxy::handshakes_completed() const { return impl_->completed; }
int tls_proxy::handshakes_failed() const { return impl_->failed; }

}  // namespace changefeed::test
