// Package deploy holds no code: its folder has the deployment files of
// Switchboard next to the tests that check them.
//
//   - haproxy/haproxy.cfg: HAProxy in front of the edges of the docker
//     compose cluster (../docker-compose.yml, ../Dockerfile);
//   - haproxy/cluster.cfg.in: the same rules for the loopback cluster of
//     ../scripts/cluster.sh, a template the script fills in.
//
// The tests load docker-compose.yml with compose-go and run its command
// lines with the real binaries, check both HAProxy configurations with
// 'haproxy -c' and run the compose one against edges found through a DNS
// server of the test's own, build the images' binaries from the build
// context that .dockerignore leaves, and bring scripts/cluster.sh up and
// down around real socket.io-client checks (itest/js/cluster). Tests that
// need a program (haproxy, redis-server, node) skip without it, and fail
// without it when CI is set.
package deploy
