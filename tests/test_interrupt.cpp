// The interrupt poll of embedding hosts (InterruptPollScope): thread-local, nested scopes keep a stop,
// and a request outside a scope stops nothing.
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "magcnn/interrupt.h"

namespace magcnn {
namespace {

struct Host {
  int answer = 0;
  int asked = 0;
  static int poll(void* self) {
    auto* h = static_cast<Host*>(self);
    ++h->asked;
    return h->answer;
  }
};

TEST(InterruptPoll, AsksTheHostAndKeepsItsAnswer) {
  clear_interrupt();
  Host host;
  {
    InterruptPollScope scope(&Host::poll, &host);
    EXPECT_EQ(interrupt_signal(), 0);
    EXPECT_NO_THROW(throw_if_interrupted());
    host.answer = SIGINT;
    EXPECT_THROW(throw_if_interrupted(), Interrupted);
    host.answer = 0;  // once seen, a stop stays: the loops that check later must stop too
    EXPECT_EQ(interrupt_signal(), SIGINT);
  }
  EXPECT_EQ(interrupt_signal(), 0);  // the scope's stop ends with it
  EXPECT_GE(host.asked, 2);
}

TEST(InterruptPoll, IsThreadLocal) {
  clear_interrupt();
  Host host;
  host.answer = SIGINT;
  InterruptPollScope scope(&Host::poll, &host);
  EXPECT_EQ(interrupt_signal(), SIGINT);
  int elsewhere = -1;
  std::thread other([&] { elsewhere = interrupt_signal(); });
  other.join();
  EXPECT_EQ(elsewhere, 0);
}

TEST(InterruptPoll, ANestedScopeKeepsTheEnclosingStop) {
  clear_interrupt();
  Host outer, inner;
  InterruptPollScope scope(&Host::poll, &outer);
  InterruptPollScope::request(SIGINT);  // a callback saw the user ask to stop
  {
    InterruptPollScope nested(&Host::poll, &inner);  // the callback calls the engine again
    EXPECT_EQ(interrupt_signal(), 0);                 // its own call is not stopped by it
  }
  EXPECT_EQ(interrupt_signal(), SIGINT);  // the enclosing call still stops
  EXPECT_EQ(outer.asked, 0);
}

TEST(InterruptPoll, AStopSeenInANestedScopeReachesTheEnclosingOne) {
  clear_interrupt();
  Host outer, inner;
  InterruptPollScope scope(&Host::poll, &outer);
  {
    InterruptPollScope nested(&Host::poll, &inner);
    inner.answer = SIGINT;
    EXPECT_EQ(interrupt_signal(), SIGINT);
  }
  EXPECT_EQ(interrupt_signal(), SIGINT);
}

TEST(InterruptPoll, ARequestOutsideAScopeStopsNothing) {
  clear_interrupt();
  InterruptPollScope::request(SIGINT);
  EXPECT_EQ(interrupt_signal(), 0);
  EXPECT_NO_THROW(throw_if_interrupted());
}

}  // namespace
}  // namespace magcnn
