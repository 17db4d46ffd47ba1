module pool/perf/go_chan

go 1.19
