package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/portcullis-gw/portcullis/gateway"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

func init() {
	register(command{name: "serve", summary: "run the gateway", run: runServe})
	register(command{name: "check", summary: "load and compile a config without serving; list every problem", run: runCheck})
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", "serve -c FILE [--log-level LEVEL]", stdout, stderr)
	file := fs.String("c", "portcullis.yaml", "config `file`")
	level := fs.String("log-level", "info", "operational log `level`: debug, info, warn or error")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "portcullis serve: --log-level must be debug, info, warn or error, got %q\n", *level)
		return 2
	}
	if !configExists(fs, *file) {
		return 1
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lv}))
	// go-redis writes plain-text lines of its own; they join the JSON log.
	ratelimit.LogRedisTo(log)

	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis serve: %s:\n%v\n", *file, err)
		return 1
	}
	gw, err := gateway.New(cfg, gateway.WithLogger(log), gateway.WithAccessLog(stdout), gateway.WithVersion(buildVersion()))
	if err != nil {
		fmt.Fprintf(stderr, "portcullis serve: %v\n", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			// Audit files first: logrotate's SIGHUP must reopen them even
			// when the config does not reload.
			gw.Reopen()
			// A bad reload keeps the running config.
			next, err := config.Load(*file)
			if err == nil {
				err = gw.Reload(next)
			} else {
				gw.ReloadFailed(err)
			}
			if err != nil {
				log.Error("reload failed; keeping the running config", "error", err.Error())
			}
		}
	}()

	if err := gw.Run(ctx); err != nil {
		log.Error("gateway stopped", "error", err.Error())
		return 1
	}
	log.Info("gateway stopped")
	return 0
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", "check -c FILE [--online [--timeout D]] [--coverage [--json] [--fail-unprotected]]", stdout, stderr)
	file := fs.String("c", "portcullis.yaml", "config `file`")
	coverage := fs.Bool("coverage", false, "print every GraphQL field reachable from the root types with its effective authorization requirement")
	asJSON := fs.Bool("json", false, "with --coverage: print JSON")
	failUnprotected := fs.Bool("fail-unprotected", false, "with --coverage: exit 1 when an unprotected field returns a type that is protected elsewhere")
	online := fs.Bool("online", false, "also connect to every dependency the config names (Redis, identity providers, upstreams, subgraphs) and list the unreachable ones")
	timeout := fs.Duration("timeout", 10*time.Second, "with --online: how long to wait for all dependencies")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if !requireWith(fs, map[string]string{"json": "coverage", "fail-unprotected": "coverage"}) {
		return 2
	}
	if !configExists(fs, *file) {
		return 1
	}
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid config:\n%v\n", *file, err)
		return 1
	}
	quiet := slog.New(slog.DiscardHandler)
	ratelimit.LogRedisTo(quiet)
	opts := []gateway.Option{gateway.WithLogger(quiet), gateway.WithoutMonitoring()}
	if !*online {
		// Offline, a schema that cannot be fetched is a failure of its own;
		// online, Probe names it with the other unreachable dependencies.
		opts = append(opts, gateway.WithRequireSchemas())
	}
	gw, err := gateway.New(cfg, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid config:\n%v\n", *file, err)
		return 1
	}
	defer gw.Close()
	if *online {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		bad := gw.Probe(ctx)
		cancel()
		if len(bad) > 0 {
			fmt.Fprintf(stderr, "%s: %d unreachable:\n", *file, len(bad))
			for _, u := range bad {
				fmt.Fprintf(stderr, "  %s\n", u)
			}
			return 1
		}
	}
	if *coverage {
		return printCoverage(gw.Coverage(), *asJSON, *failUnprotected, stdout)
	}
	fmt.Fprintf(stdout, "%s: ok\n", *file)
	return 0
}

// printCoverage shows schema owners their authorization gaps, in a table or
// JSON; gaps fail the command with --fail-unprotected, for CI.
func printCoverage(routes []gateway.RouteCoverage, asJSON, failUnprotected bool, stdout io.Writer) int {
	gaps := 0
	for _, r := range routes {
		for _, e := range r.Entries {
			if e.Unprotected && e.Sensitive {
				gaps++
			}
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(routes)
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, r := range routes {
			fmt.Fprintf(tw, "route %s\n", r.Route)
			fmt.Fprintln(tw, "  FIELD\tREQUIREMENT\tNOTE")
			for _, e := range r.Entries {
				note := ""
				if e.Unprotected && e.Sensitive {
					note = "UNPROTECTED: returns a type protected elsewhere"
				}
				req := e.Requirement
				if req == "" {
					req = "-"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Coordinate, req, note)
			}
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d unprotected field(s) returning protected types\n", gaps)
	}
	if failUnprotected && gaps > 0 {
		return 1
	}
	return 0
}
