// crfs umount DIR: unmount a crfs mount (its daemon notices and exits).
import type { Command } from 'commander';
import { unmountPath } from '../fs/mount.js';

export function registerUmount(program: Command): void {
  program.command('umount <mountpoint>')
    .description('unmount a crfs mount')
    .option('-l, --lazy', 'detach now even if busy; clean up when no longer used')
    .action(async (dir: string, o: { lazy?: boolean }) => {
      await unmountPath(dir, o.lazy ?? false);
    });
}
