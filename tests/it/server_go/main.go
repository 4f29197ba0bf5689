// A Go SDK v2 client for tests/it/server.rs: calls STS GetCallerIdentity
// through the default credential chain (what the Terraform AWS provider
// uses) every half second for the given number of seconds, and prints the
// number of calls. Any failure exits 1.
//
// Built offline from Debian's sources: GO111MODULE=off
// GOPATH=/usr/share/gocode go build (golang-go,
// golang-github-aws-aws-sdk-go-v2-dev).
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		os.Exit(1)
	}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) {
		o.EndpointResolver = sts.EndpointResolverFromURL(os.Args[1])
	})
	seconds, _ := strconv.ParseFloat(os.Args[2], 64)
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	n := 0
	for n == 0 || time.Now().Before(end) {
		if _, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			fmt.Fprintln(os.Stderr, "call:", err)
			os.Exit(1)
		}
		n++
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Println(n)
}
