// Command demo is the example application of the Lameduck chart and the end-to-end tests: an ordinary,
// well-behaved HTTP server with nothing Lameduck-specific in it.
//
//	GET /              fast: answers at once with the pod name and a request counter
//	GET /slow?d=500ms  slow: answers after d (a Go duration, at most 30s; 400 when invalid)
//	GET /healthz       readiness/liveness: 200 until SIGTERM arrives, 503 after
//	GET /livez         liveness: 200, or 503 once -live-for has passed since start (an app that wedges)
//	POST /drain        from loopback only (403 otherwise): start leaving, before any SIGTERM. Keep serving,
//	                   but answer every request with `Connection: close`, so keep-alive clients reconnect
//	                   and their load balancer sends the new connections to other pods once it has caught up.
//	                   Lameduck calls it as a hook `at: trigger`; any drain controller could.
//
// Keep-alive is on (the net/http default). On SIGTERM (or SIGINT) it stops accepting, answers every
// request from then on with `Connection: close` (so a client's next request on a keep-alive connection
// closes it cleanly and the client reconnects elsewhere), closes keep-alive connections only once they
// have been idle for -idle-close (1s) since it began leaving (POST /drain or SIGTERM, the first), waits for
// in-flight requests, then exits 0 — no sleeps of its own. An app that began leaving at POST /drain has
// answered Connection: close since, so at SIGTERM it closes at once the connections its clients left idle.
// It does not close every idle connection at once, as net/http's Server.Shutdown does: a client that
// writes a request on a connection at the moment the server closes it gets a reset, and a POST is not
// retried. It logs one line with the moment the signal arrived,
// an RFC 3339 timestamp with nanoseconds, so tests can check the app got SIGTERM only after the drain:
//
//	demo: received SIGTERM at 2026-11-23T10:00:00.123456789Z
//
// Flags: -listen (":8080", env DEMO_LISTEN), -shutdown-timeout (25s: the upper bound of the wait for
// in-flight requests and keep-alive connections; keep it below the pod's terminationGracePeriodSeconds),
// -idle-close (1s), -accept-after-sigterm (0: keep accepting new connections this long after SIGTERM
// before closing the listener, a shutdown delay for terminations whose preStop the kubelet cuts short,
// such as a kubelet eviction's 1 s; keep it below the 2 s the kubelet then gives before SIGKILL). For the tests of container restarts, each counted from start (0: never):
// -live-for (/livez fails after it, so a liveness probe on /livez gets the container restarted),
// -exit-after (the process exits 3 after it: a crash), -oom-after (it then allocates memory until the
// kernel kills it: an OOM kill under a memory limit).
//
// Client mode, for checks from images without curl: `demo -get URL` prints the body
// of one GET and exits 0 on a 2xx answer, 1 otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

const maxSlow = 30 * time.Second

func main() {
	listen := flag.String("listen", envOr("DEMO_LISTEN", ":8080"), "listen address")
	shutdownTimeout := flag.Duration("shutdown-timeout", 25*time.Second, "upper bound of the wait for in-flight requests and keep-alive connections after SIGTERM")
	acceptAfterSigterm := flag.Duration("accept-after-sigterm", 0, "keep accepting new connections this long after SIGTERM before closing the listener (0: stop at once); for a preStop the kubelet cuts short, such as an eviction's 1 s")
	idleClose := flag.Duration("idle-close", time.Second, "after SIGTERM, close a keep-alive connection once it has been idle this long (counted at the earliest from when the app began leaving: POST /drain or SIGTERM)")
	get := flag.String("get", "", "client mode: GET this URL, print the body, exit 0 on 2xx")
	liveFor := flag.Duration("live-for", 0, "/livez answers 503 once this long has passed since start (0: never)")
	exitAfter := flag.Duration("exit-after", 0, "exit 3 this long after start, as a crash would (0: never)")
	oomAfter := flag.Duration("oom-after", 0, "allocate memory until killed, this long after start (0: never)")
	flag.Parse()
	if *acceptAfterSigterm < 0 || *acceptAfterSigterm > *shutdownTimeout {
		log.Fatalf("-accept-after-sigterm=%s: must be between 0 and -shutdown-timeout (%s)", *acceptAfterSigterm, *shutdownTimeout)
	}
	log.SetFlags(0)
	log.SetPrefix("demo: ")
	if *get != "" {
		os.Exit(fetch(*get))
	}

	started := time.Now()
	failAfter(*exitAfter, func() {
		log.Printf("exiting 3 at %s (-exit-after %s)", time.Now().UTC().Format(time.RFC3339Nano), *exitAfter)
		os.Exit(3)
	})
	failAfter(*oomAfter, func() {
		log.Printf("allocating until killed at %s (-oom-after %s)", time.Now().UTC().Format(time.RFC3339Nano), *oomAfter)
		var hoard [][]byte
		for {
			chunk := make([]byte, 1<<20)
			for i := range chunk {
				chunk[i] = 1 // touched, so it is resident
			}
			hoard = append(hoard, chunk)
		}
	})
	name := envOr("POD_NAME", envOr("HOSTNAME", "demo"))
	var requests atomic.Int64
	var stopping atomic.Bool
	var leaving atomic.Bool
	conns := newConnTracker()

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %d\n", name, requests.Add(1))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil || d < 0 || d > maxSlow {
			http.Error(w, fmt.Sprintf("d must be a duration between 0s and %s, e.g. d=500ms", maxSlow), http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(d):
			fmt.Fprintf(w, "%s %d slept %s\n", name, requests.Add(1), d)
		case <-r.Context().Done(): // the client went away
		}
	})
	mux.HandleFunc("/drain", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
			http.Error(w, "only from loopback (the pod itself)", http.StatusForbidden)
			return
		}
		conns.leave(time.Now())
		if !leaving.Swap(true) {
			log.Printf("leaving at %s: answering Connection: close from now on", time.Now().UTC().Format(time.RFC3339Nano))
		}
		fmt.Fprintln(w, "leaving: answering Connection: close from now on")
	})
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) {
		if *liveFor > 0 && time.Since(started) > *liveFor {
			http.Error(w, "wedged (-live-for passed)", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if stopping.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stopping.Load() || leaving.Load() {
			w.Header().Set("Connection", "close") // net/http closes the connection after this response
		}
		mux.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, ConnState: conns.track}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	ln = trackReads(ln)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		sig := <-signals
		conns.leave(time.Now())
		stopping.Store(true)
		log.Printf("received %s at %s", signalName(sig), time.Now().UTC().Format(time.RFC3339Nano))
		// A kube-proxy that has not yet applied the withdrawal still routes new connections here; with a
		// full preStop that wait happened before the signal, with a cut-short one it can only happen now.
		if *acceptAfterSigterm > 0 {
			log.Printf("accepting new connections for another %s", *acceptAfterSigterm)
			time.Sleep(*acceptAfterSigterm)
		}
		ln.Close() // stop accepting; open connections keep being served
		deadline := time.Now().Add(*shutdownTimeout)
		for conns.closeIdle(*idleClose, time.Now()) > 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Printf("shutdown: %v (in-flight requests cut off)", err)
		}
		close(done)
	}()

	log.Printf("listening on %s", *listen)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) && !stopping.Load() {
		log.Fatalf("serve: %v", err)
	}
	<-done
	log.Printf("stopped after %d requests at %s", requests.Load(), time.Now().UTC().Format(time.RFC3339Nano))
}

// failAfter runs fail in the background after d; never when d is 0.
func failAfter(d time.Duration, fail func()) {
	if d > 0 {
		time.AfterFunc(d, fail)
	}
}

func fetch(url string) int {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		log.Printf("GET %s: %v", url, err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	os.Stdout.Write(body)
	if resp.StatusCode/100 != 2 {
		log.Printf("GET %s: %s", url, resp.Status)
		return 1
	}
	return 0
}

func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	if s == syscall.SIGINT {
		return "SIGINT"
	}
	return s.String()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
