package netns

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xenbox/xenbox/tools/metadata"
)

// Bounds of one load run: this many requests, this many at a time.
const (
	benchRequests    = 4000
	benchConcurrency = 8
)

// loadResult is what one bounded load run measured.
type loadResult struct {
	perSecond float64
	p99       time.Duration
}

// BenchmarkMetadataVsPythonHTTPServer compares the metadata service with the one-line Python
// server of the manual set-up, both serving the same user-data on 127.0.0.1, under the same
// bounded Go client. The ratios are service / Python: above 1 for requests per second and
// below 1 for p99 favour the service. Python's server speaks HTTP/1.0 and closes every
// connection, the service keeps them open: that is part of what is compared.
func BenchmarkMetadataVsPythonHTTPServer(b *testing.B) {
	if _, err := exec.LookPath("python3"); err != nil {
		b.Skipf("needs python3: %v", err)
	}
	serviceURL := startBenchService(b)
	pythonURL := startPythonServer(b)

	var service, python loadResult
	for range b.N {
		service = load(b, serviceURL)
		python = load(b, pythonURL)
	}

	rpsRatio := service.perSecond / python.perSecond
	p99Ratio := float64(service.p99) / float64(python.p99)
	b.ReportMetric(service.perSecond, "service-req/s")
	b.ReportMetric(python.perSecond, "python-req/s")
	b.ReportMetric(rpsRatio, "req/s-ratio")
	b.ReportMetric(p99Ratio, "p99-ratio")
	report := fmt.Sprintf("metadata service vs python3 -m http.server, GET /latest/user-data, "+
		"%d requests, %d at a time, 127.0.0.1\n"+
		"service: %.0f req/s, p99 %s\npython:  %.0f req/s, p99 %s\n"+
		"ratio (service/python): req/s %.2f, p99 %.2f\n",
		benchRequests, benchConcurrency, service.perSecond, service.p99, python.perSecond,
		python.p99, rpsRatio, p99Ratio)
	b.Log(report)
	if out := os.Getenv("XENBOX_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			b.Fatalf("write the benchmark report: %v", err)
		}
	}
}

// startBenchService serves user-data from a record for 127.0.0.1, the benchmark's caller.
func startBenchService(b *testing.B) string {
	b.Helper()
	records := b.TempDir()
	err := metadata.WriteRecord(records, metadata.Record{Domain: "bench", IP: "127.0.0.1",
		UserData: userData})
	if err != nil {
		b.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- metadata.Serve(ctx, listener,
			metadata.NewServer(metadata.Config{Store: metadata.NewStore(records)}))
	}()
	b.Cleanup(func() {
		cancel()
		<-served
	})
	return "http://" + listener.Addr().String() + "/latest/user-data"
}

// startPythonServer serves the same body from latest/user-data with python3 -m http.server.
func startPythonServer(b *testing.B) string {
	b.Helper()
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "latest"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "latest", "user-data"), []byte(userData),
		0o644); err != nil {
		b.Fatal(err)
	}
	port := freeLoopbackPort(b)
	server := exec.Command("python3", "-m", "http.server", "--bind", "127.0.0.1",
		"--directory", root, fmt.Sprint(port))
	if err := server.Start(); err != nil {
		b.Fatalf("start python3 -m http.server: %v", err)
	}
	b.Cleanup(func() {
		server.Process.Kill()
		server.Wait()
	})

	url := fmt.Sprintf("http://127.0.0.1:%d/latest/user-data", port)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if response, err := http.Get(url); err == nil {
			response.Body.Close()
			return url
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatal("python3 -m http.server did not answer within 10s")
	return ""
}

func freeLoopbackPort(b *testing.B) int {
	b.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port
}

// load sends benchRequests GETs to url, benchConcurrency at a time, and checks each answer.
func load(b *testing.B, url string) loadResult {
	b.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: benchConcurrency}}
	defer client.CloseIdleConnections()
	latencies := make([]time.Duration, benchRequests)
	failures := make(chan error, benchRequests)
	next := make(chan int, benchRequests)
	for i := range benchRequests {
		next <- i
	}
	close(next)

	began := time.Now()
	var workers sync.WaitGroup
	for range benchConcurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for i := range next {
				start := time.Now()
				if err := get(client, url); err != nil {
					failures <- err
					continue
				}
				latencies[i] = time.Since(start)
			}
		}()
	}
	workers.Wait()
	elapsed := time.Since(began)
	close(failures)

	for err := range failures {
		b.Fatalf("load %s: %v", url, err)
	}
	slices.Sort(latencies)
	return loadResult{perSecond: benchRequests / elapsed.Seconds(),
		p99: latencies[len(latencies)*99/100]}
}

func get(client *http.Client, url string) error {
	response, err := client.Get(url)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		return err
	}
	if response.StatusCode != http.StatusOK || string(body) != userData {
		return fmt.Errorf("got %d %q", response.StatusCode, body)
	}
	return nil
}
