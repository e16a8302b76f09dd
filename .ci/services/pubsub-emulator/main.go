// pstest-server serves Google's in-memory Pub/Sub fake (cloud.google.com/go/pubsub/v2/pstest)
// over gRPC, for tests on machines without the Google Cloud CLI's emulator. Clients reach it
// through PUBSUB_EMULATOR_HOST=HOST:PORT, as they reach `gcloud beta emulators pubsub`.
// It prints "pstest-server listening on HOST:PORT" once it serves; SIGINT/SIGTERM stop it.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"cloud.google.com/go/pubsub/v2/pstest"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 8085, "port to listen on")
	// Everything is in memory; the flag only names the instance on the command line (a test harness finds its process by it).
	_ = flag.String("instance", "", "a name for this instance (unused)")
	flag.Parse()
	srv := pstest.NewServerWithAddress(net.JoinHostPort(*host, strconv.Itoa(*port)))
	fmt.Printf("pstest-server listening on %s\n", srv.Addr)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	_ = srv.Close()
}
