package scanner_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"cardtill/scanner"
)

// BenchmarkScanLatency measures, through a real pty, tarm/serial and the
// Reader, the time from writing a whole terminated frame (so its last byte)
// to the scan arriving on Events. p50/p99 are reported per scan.
func BenchmarkScanLatency(b *testing.B) {
	dev := newFakeScanner(b)
	r := openReader(b, scanner.Config{Port: dev.path}, testOptions())
	expect(b, r, scanner.EventConnected)
	frame := []byte("110201201245\r")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := dev.master.Write(frame); err != nil {
			b.Fatal(err)
		}
		ev := <-r.Events()
		lat = append(lat, time.Since(start))
		if ev.Kind != scanner.EventScan || ev.Scan.Payload.Code != "110201201245" {
			b.Fatalf("event %+v", ev)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkFramer measures framing throughput on a stream of AIM-prefixed,
// CRLF-terminated codes fed in 64-byte reads.
func BenchmarkFramer(b *testing.B) {
	stream := []byte(strings.Repeat("]Q1110201201245\r\n", 1000))
	f := scanner.NewFramer(scanner.Config{Terminator: "crlf"})
	var frames []scanner.Frame
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for range b.N {
		for i := 0; i < len(stream); i += 64 {
			frames = f.Feed(stream[i:min(i+64, len(stream))], frames[:0])
		}
	}
}

func BenchmarkParse(b *testing.B) {
	inputs := []string{
		"110201201245",
		"https://m.example.com/use?encrypt_code=XXIzTtMqCxwOaawoE91%2BVJdsFmv7b8g0VZIZkqf4GWA60Fzpc8ksZ%2F5ZZ0DVkXdE&card_id=pFS7Fjg8kV1IdDz01r4SQwMkuCKc",
		"4006381333931",
	}
	b.ReportAllocs()
	for i := range b.N {
		_, _ = scanner.Parse(inputs[i%len(inputs)])
	}
}
