# The two commands of the README's quick start, and a few conveniences.
.PHONY: start test build clean

# Install what is missing, build, and run subca with a ready demo authority.
start:
	@scripts/install-deps.sh
	@scripts/demo.sh

# Install what is missing, build, and run every test.
test:
	@scripts/test.sh

build:
	@scripts/install-deps.sh
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build/release -j $$(nproc)

clean:
	rm -rf build
