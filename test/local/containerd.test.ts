import { startContainerd } from '../../local/containerd';

describe('startContainerd', () => {
  it('without containerd installed: fails naming the Debian package', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startContainerd()).rejects.toThrow('containerd is not installed: run scripts/setup.sh as root, or apt-get install -y containerd');
    } finally {
      process.env.PATH = path;
    }
  });
});
