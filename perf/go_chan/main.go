// perf/go_chan - the Go peer of the perf harness (docs/perf.md): a pool of
// W goroutines ranging over a buffered chan func() (buffer 1024), driven
// from Go with the task counts of perf/bench.cc, written as
// google-benchmark-shaped JSON that perf/report.py merges with the C++
// results (benchmarks named <workload>/go_chan).
//
// Standard library only. Every window checks that every task ran.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const chanBuffer = 1024

type setting struct {
	quick          bool
	throughputTask int
	perProducer    int
	batchTasks     int
	wakeSamples    int
	idleWindow     time.Duration
	sleepTasks     int
	sleepCapacity  int
	iters          int
}

var full = setting{false, 2000000, 1000000, 2000000, 2000, time.Second,
	100000, 1000, 3}
var quick = setting{true, 200000, 100000, 200000, 200, 250 * time.Millisecond,
	10000, 100, 1}

// A pool: W goroutines ranging over one buffered channel.
type chanPool struct {
	ch chan func()
	wg sync.WaitGroup
}

func newPool(workers int) *chanPool {
	p := &chanPool{ch: make(chan func(), chanBuffer)}
	p.wg.Add(workers)
	for i := 0; i < workers; i++ {
		go func() {
			defer p.wg.Done()
			for f := range p.ch {
				f()
			}
		}()
	}
	return p
}

func (p *chanPool) submit(f func()) { p.ch <- f }

func (p *chanPool) stop() {
	close(p.ch)
	p.wg.Wait()
}

// The padded counter of perf/impl.h: 64 slots on their own cache lines.
// The C++ counter picks a slot per thread; a func() cannot know its
// goroutine, so the producers hand out 64 prebuilt closures in turn, each
// bumping its own slot (no allocation per task, no single hot line).
type slot struct {
	n uint64
	_ [56]byte
}

type counter struct {
	slots [64]slot
	incs  [64]func()
}

func newCounter() *counter {
	c := &counter{}
	for i := range c.incs {
		s := &c.slots[i]
		c.incs[i] = func() { atomic.AddUint64(&s.n, 1) }
	}
	return c
}

func (c *counter) sum() uint64 {
	var s uint64
	for i := range c.slots {
		s += atomic.LoadUint64(&c.slots[i].n)
	}
	return s
}

func (c *counter) reset() {
	for i := range c.slots {
		atomic.StoreUint64(&c.slots[i].n, 0)
	}
}

// Wait until read() reaches want, polling every 50 µs like bench.cc.
func waitCount(read func() uint64, want uint64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for read() < want {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Microsecond)
	}
	return true
}

type result map[string]interface{}

func ok(name string, iters int, elapsed time.Duration, items uint64) result {
	ms := float64(elapsed.Nanoseconds()) / 1e6 / float64(iters)
	return result{
		"name":             name + "/go_chan/iterations:" + fmt.Sprint(iters) + "/real_time",
		"run_name":         name + "/go_chan",
		"run_type":         "iteration",
		"iterations":       iters,
		"real_time":        ms,
		"cpu_time":         ms,
		"time_unit":        "ms",
		"items_per_second": float64(items) / elapsed.Seconds(),
	}
}

func fail(name, msg string) result {
	return result{
		"name":           name + "/go_chan",
		"run_name":       name + "/go_chan",
		"run_type":       "iteration",
		"error_occurred": true,
		"error_message":  msg,
	}
}

// throughput-type windows: `producers` goroutines each submit `per` tasks
// to a pool of `capacity` workers; the window ends when every task ran.
func tasks(name string, s setting, capacity, producers, per int, shared bool) result {
	p := newPool(capacity)
	defer p.stop()
	c := newCounter()
	var hot uint64
	hotInc := func() { atomic.AddUint64(&hot, 1) }
	read := c.sum
	if shared {
		read = func() uint64 { return atomic.LoadUint64(&hot) }
	}
	want := uint64(producers * per)
	var total time.Duration
	for it := 0; it < s.iters; it++ {
		c.reset()
		atomic.StoreUint64(&hot, 0)
		t0 := time.Now()
		var wg sync.WaitGroup
		wg.Add(producers)
		for k := 0; k < producers; k++ {
			go func(k int) {
				defer wg.Done()
				j := k
				for i := 0; i < per; i++ {
					if shared {
						p.submit(hotInc)
					} else {
						p.submit(c.incs[j&63])
						j++
					}
				}
			}(k)
		}
		wg.Wait()
		done := waitCount(read, want, 300*time.Second)
		total += time.Since(t0)
		if got := read(); !done || got != want {
			return fail(name, fmt.Sprintf("task count mismatch: %d ran, %d expected", got, want))
		}
	}
	r := ok(name, s.iters, total, want*uint64(s.iters))
	if producers != 1 {
		r["producers"] = producers
	}
	return r
}

func cpuMs() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

// wake_latency: idle pool, submit one task that stamps its start, wait for
// it, sleep 1 ms, repeat; before the samples the CPU an idle pool burns.
func wake(s setting) result {
	const name = "wake_latency"
	p := newPool(2)
	defer p.stop()
	var warm uint64
	for i := 0; i < 2; i++ {
		p.submit(func() { atomic.AddUint64(&warm, 1) })
	}
	if !waitCount(func() uint64 { return atomic.LoadUint64(&warm) }, 2, 10*time.Second) {
		return fail(name, "warm-up tasks did not run")
	}
	time.Sleep(60 * time.Millisecond)
	c0 := cpuMs()
	time.Sleep(s.idleWindow)
	idle := (cpuMs() - c0) / s.idleWindow.Seconds()
	base := time.Now()
	lat := make([]float64, 0, s.wakeSamples)
	for i := 0; i < s.wakeSamples; i++ {
		var start int64
		t0 := time.Since(base).Nanoseconds()
		p.submit(func() { atomic.StoreInt64(&start, time.Since(base).Nanoseconds()+1) })
		deadline := time.Now().Add(10 * time.Second)
		for atomic.LoadInt64(&start) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Microsecond)
		}
		t1 := atomic.LoadInt64(&start)
		if t1 == 0 {
			return fail(name, "a wake_latency task did not run in 10 s")
		}
		lat = append(lat, float64(t1-1-t0)/1e3)
		time.Sleep(time.Millisecond)
	}
	sort.Float64s(lat)
	q := func(f float64) float64 {
		i := int(f * float64(len(lat)))
		if i >= len(lat) {
			i = len(lat) - 1
		}
		return lat[i]
	}
	r := ok(name, 1, time.Second, uint64(len(lat)))
	r["p50_us"] = q(0.50)
	r["p99_us"] = q(0.99)
	r["p999_us"] = q(0.999)
	r["max_us"] = lat[len(lat)-1]
	r["samples"] = len(lat)
	r["idle_cpu_ms"] = idle
	delete(r, "items_per_second")
	return r
}

func rssKb() float64 {
	var size, res int64
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return 0
	}
	defer f.Close()
	fmt.Fscan(f, &size, &res)
	return float64(res * int64(os.Getpagesize()) / 1024)
}

// sleep: every task sleeps 10 ms; wall time over the ideal. Two windows on
// one pool, as in perf/bench.cc: cold (newPool, which starts the
// goroutines, inside the window: cold_ratio_to_ideal), then warm (the
// goroutines exist: ratio_to_ideal).
func sleepWorkload(s setting) result {
	const name = "sleep"
	rss0 := rssKb()
	var n uint64
	task := func() {
		time.Sleep(10 * time.Millisecond)
		atomic.AddUint64(&n, 1)
	}
	ideal := float64(s.sleepTasks) * 0.010 / float64(s.sleepCapacity)
	peak := rssKb()
	stopSampling := make(chan struct{})
	sampled := make(chan float64)
	go func() {
		pk := peak
		for {
			select {
			case <-stopSampling:
				sampled <- pk
				return
			case <-time.After(5 * time.Millisecond):
				if v := rssKb(); v > pk {
					pk = v
				}
			}
		}
	}()
	var p *chanPool
	window := func(cold bool) (time.Duration, bool) {
		atomic.StoreUint64(&n, 0)
		t0 := time.Now()
		if cold {
			p = newPool(s.sleepCapacity)
		}
		for i := 0; i < s.sleepTasks; i++ {
			p.submit(task)
		}
		done := waitCount(func() uint64 { return atomic.LoadUint64(&n) },
			uint64(s.sleepTasks), time.Duration(60*ideal*float64(time.Second)))
		return time.Since(t0), done && atomic.LoadUint64(&n) == uint64(s.sleepTasks)
	}
	coldEl, done := window(true)
	defer p.stop()
	var el time.Duration
	if done {
		el, done = window(false)
	}
	close(stopSampling)
	peak = <-sampled
	if !done {
		return fail(name, fmt.Sprintf("task count mismatch: %d ran, %d expected",
			atomic.LoadUint64(&n), s.sleepTasks))
	}
	r := ok(name, 1, coldEl+el, 2*uint64(s.sleepTasks))
	r["ratio_to_ideal"] = el.Seconds() / ideal
	r["cold_ratio_to_ideal"] = coldEl.Seconds() / ideal
	r["peak_rss_kb"] = peak
	r["rss_delta_kb"] = peak - rss0
	r["capacity"] = s.sleepCapacity
	return r
}

func main() {
	settingName := flag.String("setting", "full", "quick or full")
	out := flag.String("out", "", "JSON output file (default stdout)")
	filter := flag.String("filter", "", "only benchmarks whose <workload>/go_chan matches")
	flag.Parse()
	s := full
	switch *settingName {
	case "full":
	case "quick":
		s = quick
	default:
		fmt.Fprintf(os.Stderr, "unknown setting %q (quick|full)\n", *settingName)
		os.Exit(2)
	}
	re, err := regexp.Compile(*filter)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	type bench struct {
		name string
		run  func() result
	}
	var all []bench
	add := func(name string, run func() result) { all = append(all, bench{name, run}) }
	add("throughput", func() result { return tasks("throughput", s, 2, 1, s.throughputTask, false) })
	add("throughput_shared", func() result { return tasks("throughput_shared", s, 2, 1, s.throughputTask, true) })
	add("two_producers", func() result { return tasks("two_producers", s, 2, 2, s.perProducer, false) })
	add("batch", func() result { return tasks("batch", s, 2, 1, s.batchTasks, false) })
	for _, n := range []int{1, 2, 4} {
		n := n
		name := fmt.Sprintf("producers_%d", n)
		add(name, func() result { return tasks(name, s, 2, n, s.throughputTask/n, false) })
	}
	for _, n := range []int{1, 2, 8, 64} {
		n := n
		name := fmt.Sprintf("capacity_%d", n)
		add(name, func() result {
			r := tasks(name, s, n, 1, s.throughputTask, false)
			r["capacity"] = n
			return r
		})
	}
	add("wake_latency", func() result { return wake(s) })
	add("sleep", func() result { return sleepWorkload(s) })

	var results []result
	for _, b := range all {
		if !re.MatchString(b.name + "/go_chan") {
			continue
		}
		fmt.Fprintf(os.Stderr, "go_chan: %s ...\n", b.name)
		r := b.run()
		if r["error_occurred"] == true {
			fmt.Fprintf(os.Stderr, "go_chan: %s: %v\n", b.name, r["error_message"])
		}
		results = append(results, r)
	}
	doc := map[string]interface{}{
		"context": map[string]interface{}{
			"go_version":  runtime.Version(),
			"gomaxprocs":  runtime.GOMAXPROCS(0),
			"chan_buffer": chanBuffer,
		},
		"benchmarks": results,
	}
	enc, _ := json.MarshalIndent(doc, "", "  ")
	if *out == "" {
		os.Stdout.Write(append(enc, '\n'))
		return
	}
	if err := os.WriteFile(*out, append(enc, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
